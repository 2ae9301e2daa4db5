import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";

/** One ingress rule, as the exposure checks and the plan read it. */
export interface IngressRule {
    /** Stable name of the rule (its resource name), independent of which other rules exist. */
    readonly key: "ssh" | "salt" | "health-gate" | "load-balancer" | "app-cidr";
    /** Which security group the rule belongs to. */
    readonly group: "admin" | "saltMaster" | "appServers";
    /** TCP port range. */
    readonly ports: readonly [number, number];
    /** A CIDR, the security group traffic must come from, or the servers' own subnet. */
    readonly from: { readonly cidr: string } | { readonly group: "appServers" | "saltMaster" } | { readonly subnet: "servers" };
    /** Why the rule exists. */
    readonly description: string;
}

/** Inputs of `ingressRules`: the exposure of the whole deployment, as plain data. */
export interface ExposureArgs {
    /** The only CIDR SSH is open to. */
    readonly adminCidr: string;
    /** The app's TCP port. */
    readonly appPort: number;
    /** CIDR allowed on the app port directly; "" for none. */
    readonly appCidr: string;
    /** Whether a load balancer on the servers' subnet forwards to the app servers. */
    readonly loadBalancer: boolean;
}

/**
 * Every ingress rule of the deployment: SSH only from the admin CIDR (master and build minion),
 * Salt's 4505/4506 only from the app servers' group, the app port only from the master (the
 * health gate and functional checks run there), the load balancer's subnet and the configured CIDR.
 */
export function ingressRules(args: ExposureArgs): IngressRule[] {
    const rules: IngressRule[] = [
        { key: "ssh", group: "admin", ports: [22, 22], from: { cidr: args.adminCidr }, description: "SSH from the admin CIDR" },
        { key: "salt", group: "saltMaster", ports: [4505, 4506], from: { group: "appServers" }, description: "Salt publish/return from the minions" },
        { key: "health-gate", group: "appServers", ports: [args.appPort, args.appPort], from: { group: "saltMaster" }, description: "health gate on the master" },
    ];
    if (args.loadBalancer) {
        rules.push({ key: "load-balancer", group: "appServers", ports: [args.appPort, args.appPort], from: { subnet: "servers" }, description: "load balancer members" });
    }
    if (args.appCidr) {
        rules.push({ key: "app-cidr", group: "appServers", ports: [args.appPort, args.appPort], from: { cidr: args.appCidr }, description: "app port from the configured CIDR" });
    }
    return rules;
}

export interface NetworkArgs extends ExposureArgs {
    /** Existing network to attach every server to; undefined creates a network, subnet and router. */
    readonly networkId?: string;
    /** CIDR of the subnet created when no network is given. */
    readonly networkCidr: string;
    /** External network for the router's gateway and floating IPs. */
    readonly externalNetwork: string;
}

/** The network every server joins, and the least-privilege security groups around them. */
export class Network extends pulumi.ComponentResource {
    /** ID of the network servers attach to. */
    readonly networkId: pulumi.Output<string>;
    /** ID of its subnet (load balancer VIP and members). */
    readonly subnetId: pulumi.Output<string>;
    /** That subnet's CIDR: an existing network's own, not holodeck:networkCidr. */
    readonly subnetCidr: pulumi.Output<string>;
    /** SSH from the admin CIDR: the master and the build minion. */
    readonly adminGroup: openstack.networking.SecGroup;
    /** Salt's ports, from the app servers only. */
    readonly saltMasterGroup: openstack.networking.SecGroup;
    /** The app port, from the master, the load balancer and the configured CIDR. */
    readonly appServersGroup: openstack.networking.SecGroup;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:Network", name, {}, opts);
        const parent = { parent: this };

        if (args.networkId) {
            this.networkId = pulumi.output(args.networkId);
            this.subnetId = pulumi.output(
                openstack.networking.getSubnetIdsV2Output({ networkId: args.networkId }, parent).apply((subnets) => {
                    if (subnets.ids.length === 0) throw new Error(`network ${args.networkId} has no subnet: add one, or leave holodeck:networkId empty`);
                    return subnets.ids[0];
                }),
            );
            this.subnetCidr = openstack.networking.getSubnetOutput({ subnetId: this.subnetId }, parent).cidr;
        } else {
            const network = new openstack.networking.Network(`${name}-net`, { adminStateUp: true }, parent);
            const subnet = new openstack.networking.Subnet(`${name}-subnet`, {
                networkId: network.id,
                cidr: args.networkCidr,
                ipVersion: args.networkCidr.includes(":") ? 6 : 4,
            }, parent);
            const external = openstack.networking.getNetworkOutput({ name: args.externalNetwork, external: true }, parent);
            const router = new openstack.networking.Router(`${name}-router`, { externalNetworkId: external.id }, parent);
            new openstack.networking.RouterInterface(`${name}-router-interface`, { routerId: router.id, subnetId: subnet.id }, parent);
            this.networkId = network.id;
            this.subnetId = subnet.id;
            this.subnetCidr = subnet.cidr;
        }

        this.adminGroup = new openstack.networking.SecGroup(`${name}-admin`, { description: "Holodeck: SSH from the admin CIDR" }, parent);
        this.saltMasterGroup = new openstack.networking.SecGroup(`${name}-salt-master`, { description: "Holodeck: Salt master" }, parent);
        this.appServersGroup = new openstack.networking.SecGroup(`${name}-app-servers`, { description: "Holodeck: app servers (Salt minions)" }, parent);
        const groups = { admin: this.adminGroup, saltMaster: this.saltMasterGroup, appServers: this.appServersGroup };

        for (const rule of ingressRules(args)) {
            const ethertype = (cidr: string) => (cidr.includes(":") ? "IPv6" : "IPv4");
            const source = "group" in rule.from
                ? { remoteGroupId: groups[rule.from.group].id, ethertype: "IPv4" }
                : "cidr" in rule.from
                    ? { remoteIpPrefix: rule.from.cidr, ethertype: ethertype(rule.from.cidr) }
                    : { remoteIpPrefix: this.subnetCidr, ethertype: this.subnetCidr.apply(ethertype) };
            new openstack.networking.SecGroupRule(`${name}-${rule.key}`, {
                securityGroupId: groups[rule.group].id,
                direction: "ingress",
                protocol: "tcp",
                portRangeMin: rule.ports[0],
                portRangeMax: rule.ports[1],
                description: rule.description,
                ...source,
            }, parent);
        }

        this.registerOutputs({ networkId: this.networkId, subnetId: this.subnetId });
    }
}
