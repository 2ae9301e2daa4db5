import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { InputError, resourceError } from "../lib/errors";

/** Why an ingress rule exists; also the rule's resource name before rules were named by what they admit. */
export type IngressReason = "ssh" | "salt" | "health-gate" | "load-balancer" | "app-cidr";

/** One ingress rule, as the exposure checks and the plan read it. */
export interface IngressRule {
    /**
     * Stable name of the rule (its resource name), made of what it admits: the same rule keeps its
     * name whatever else changes, and a changed rule gets a new one, created before the old goes.
     */
    readonly key: string;
    /** Which security group the rule belongs to. */
    readonly group: "admin" | "saltMaster" | "appServers";
    /** TCP port range. */
    readonly ports: readonly [number, number];
    /** A CIDR (in its canonical form) or the security group traffic must come from. */
    readonly from: { readonly cidr: string } | { readonly group: "appServers" | "saltMaster" };
    /** Every reason for it: identical rules are one rule (Neutron refuses a duplicate with 409). */
    readonly reasons: readonly IngressReason[];
    /** Why the rule exists, each reason's description joined. */
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

/** A CIDR as Neutron compares it: an IPv4 prefix with its host bits cleared (other forms as given). */
export function canonicalCidr(cidr: string): string {
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
    if (!match) return cidr.trim().toLowerCase();
    const bits = Number(match[5]);
    const address = match.slice(1, 5).reduce((value, octet) => value * 256 + Number(octet), 0);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const network = (address & mask) >>> 0;
    return `${[24, 16, 8, 0].map((shift) => (network >>> shift) & 255).join(".")}/${bits}`;
}

const kebab = (group: string) => group.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/**
 * Every ingress rule of the deployment: SSH only from the admin CIDR (master and build minion),
 * Salt's 4505/4506 only from the app servers' group, the app port only from the master (the
 * health gate and functional checks run there), the load balancer's subnet (`subnetCidr`) and the
 * configured CIDR. Rules that admit the same thing (e.g. holodeck:appCidr equal to the subnet's
 * CIDR with a load balancer) are merged into one.
 */
export function ingressRules(args: ExposureArgs, subnetCidr: string): IngressRule[] {
    const app: readonly [number, number] = [args.appPort, args.appPort];
    const wanted: (Omit<IngressRule, "key" | "reasons"> & { reason: IngressReason })[] = [
        { reason: "ssh", group: "admin", ports: [22, 22], from: { cidr: canonicalCidr(args.adminCidr) }, description: "SSH from the admin CIDR" },
        { reason: "salt", group: "saltMaster", ports: [4505, 4506], from: { group: "appServers" }, description: "Salt publish/return from the minions" },
        { reason: "health-gate", group: "appServers", ports: app, from: { group: "saltMaster" }, description: "health gate on the master" },
        ...(args.loadBalancer
            ? [{ reason: "load-balancer" as const, group: "appServers" as const, ports: app, from: { cidr: canonicalCidr(subnetCidr) }, description: "load balancer members" }]
            : []),
        ...(args.appCidr
            ? [{ reason: "app-cidr" as const, group: "appServers" as const, ports: app, from: { cidr: canonicalCidr(args.appCidr) }, description: "app port from the configured CIDR" }]
            : []),
    ];
    const rules = new Map<string, IngressRule>();
    for (const { reason, ...rule } of wanted) {
        const ports = rule.ports[0] === rule.ports[1] ? `${rule.ports[0]}` : `${rule.ports[0]}-${rule.ports[1]}`;
        const source = "group" in rule.from ? kebab(rule.from.group) : rule.from.cidr.replace(/[/:]/g, "_");
        const key = `${kebab(rule.group)}-tcp-${ports}-from-${source}`;
        const same = rules.get(key);
        rules.set(key, same
            ? { ...same, reasons: [...same.reasons, reason], description: `${same.description}; ${rule.description}` }
            : { ...rule, key, reasons: [reason] });
    }
    return [...rules.values()];
}

/** An existing network's subnet, looked up before anything is created. */
export interface ExistingSubnet {
    /** The network's ID. */
    readonly networkId: string;
    /** Its (first) subnet's ID. */
    readonly subnetId: string;
    /** That subnet's CIDR, as OpenStack reports it. */
    readonly cidr: string;
}

/** Looks up the subnet servers get their addresses from on an existing network. */
export async function existingSubnet(networkId: string): Promise<ExistingSubnet> {
    // The cloud's own error (credentials, reachability) is what the user fixes: report it as such.
    const ask = async <T>(call: () => Promise<T>): Promise<T> => {
        try {
            return await call();
        } catch (error) {
            throw new InputError(`could not read the subnets of network ${networkId} (holodeck:networkId) from the cloud: ${(error as Error).message}`);
        }
    };
    const { ids } = await ask(() => openstack.networking.getSubnetIdsV2({ networkId }));
    if (ids.length === 0) throw new InputError(`network ${networkId} has no subnet: add one, or leave holodeck:networkId empty`);
    const { cidr } = await ask(() => openstack.networking.getSubnet({ subnetId: ids[0] }));
    return { networkId, subnetId: ids[0], cidr };
}

export interface NetworkArgs extends ExposureArgs {
    /** Existing network (see `existingSubnet`) to attach every server to; undefined creates a network, subnet and router. */
    readonly existing?: ExistingSubnet;
    /** CIDR of the subnet created when no network is given. */
    readonly networkCidr: string;
    /** External network for the router's gateway and floating IPs. */
    readonly externalNetwork: string;
}

/** The network every server joins, and the least-privilege security groups around them. */
export class Network extends pulumi.ComponentResource {
    /** ID of the network servers attach to; a created one resolves once its router interface exists. */
    readonly networkId: pulumi.Output<string>;
    /** ID of its subnet (ports, load balancer VIP and members); a created one resolves once routed too. */
    readonly subnetId: pulumi.Output<string>;
    /** That subnet's CIDR: an existing network's own, not holodeck:networkCidr. */
    readonly subnetCidr: string;
    /** SSH from the admin CIDR: the master and the build minion. */
    readonly adminGroup: openstack.networking.SecGroup;
    /** Salt's ports, from the app servers only. */
    readonly saltMasterGroup: openstack.networking.SecGroup;
    /** The app port, from the master, the load balancer and the configured CIDR. */
    readonly appServersGroup: openstack.networking.SecGroup;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:Network", name, {}, opts);
        const parent = { parent: this };

        if (args.existing) {
            this.networkId = pulumi.output(args.existing.networkId);
            this.subnetId = pulumi.output(args.existing.subnetId);
            this.subnetCidr = args.existing.cidr;
        } else {
            const network = new openstack.networking.Network(`${name}-net`, { adminStateUp: true }, parent);
            const subnet = new openstack.networking.Subnet(`${name}-subnet`, {
                networkId: network.id,
                cidr: args.networkCidr,
                // IPv4 only: config.ts refuses IPv6 CIDRs (floating IPs and addresses are IPv4).
                ipVersion: 4,
            }, parent);
            const external = pulumi.output(openstack.networking.getNetwork({ name: args.externalNetwork, external: true }, parent).catch((error: Error) => {
                throw resourceError(`could not find the external network '${args.externalNetwork}' (holodeck:externalNetwork) in the cloud: ${error.message}`, this);
            }));
            const router = new openstack.networking.Router(`${name}-router`, { externalNetworkId: external.id }, parent);
            const routerInterface = new openstack.networking.RouterInterface(`${name}-router-interface`, { routerId: router.id, subnetId: subnet.id }, parent);
            // Ports, servers, floating-IP associations and the load balancer need the route out
            // (Neutron refuses a floating IP for an unrouted subnet; cloud-init needs the metadata
            // service and the mirrors): they get the network's IDs only once the interface exists.
            const routed = (id: pulumi.Output<string>) => pulumi.all([id, routerInterface.id]).apply(([value]) => value);
            this.networkId = routed(network.id);
            this.subnetId = routed(subnet.id);
            this.subnetCidr = args.networkCidr;
        }

        this.adminGroup = new openstack.networking.SecGroup(`${name}-admin`, { description: "Holodeck: SSH from the admin CIDR" }, parent);
        this.saltMasterGroup = new openstack.networking.SecGroup(`${name}-salt-master`, { description: "Holodeck: Salt master" }, parent);
        this.appServersGroup = new openstack.networking.SecGroup(`${name}-app-servers`, { description: "Holodeck: app servers (Salt minions)" }, parent);
        const groups = { admin: this.adminGroup, saltMaster: this.saltMasterGroup, appServers: this.appServersGroup };

        for (const rule of ingressRules(args, this.subnetCidr)) {
            const source = "group" in rule.from ? { remoteGroupId: groups[rule.from.group].id } : { remoteIpPrefix: rule.from.cidr };
            new openstack.networking.SecGroupRule(`${name}-${rule.key}`, {
                securityGroupId: groups[rule.group].id,
                direction: "ingress",
                protocol: "tcp",
                portRangeMin: rule.ports[0],
                portRangeMax: rule.ports[1],
                description: rule.description,
                ethertype: "IPv4",
                ...source,
            }, {
                ...parent,
                // Every field is ForceNew and Neutron's duplicate check ignores the description:
                // a replacement created before the old rule goes would be refused (409).
                deleteBeforeReplace: true,
                // The names rules had when they were named by reason: the same rules, not new ones.
                aliases: rule.reasons.map((reason) => ({ name: `${name}-${reason}` })),
            });
        }

        this.registerOutputs({ networkId: this.networkId, subnetId: this.subnetId });
    }
}
