import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { Balancer, BalancedRelease } from "./substrate";

export interface LoadBalancerArgs {
    /** Subnet of the VIP and of the members. */
    readonly subnetId: pulumi.Input<string>;
    /** External network the floating IP comes from. */
    readonly externalNetwork: string;
}

/**
 * An Octavia load balancer in front of one release at a time. Each release gets its own pool,
 * filled only once its servers have passed their gates; the listener then switches to it in
 * place. So the balancer never mixes generations, and until the switch it serves the old one,
 * whose pool Pulumi deletes at the end of a successful update.
 */
export class LoadBalancer extends pulumi.ComponentResource implements Balancer {
    /** Private VIP (the master checks the release through it). */
    readonly vipAddress: pulumi.Output<string>;
    /** Public (floating) address. */
    readonly publicAddress: pulumi.Output<string>;
    /** Port the listener serves HTTP on. */
    readonly port = 80;
    private readonly name: string;
    private readonly subnetId: pulumi.Input<string>;
    private readonly balancer: openstack.loadbalancer.LoadBalancer;

    constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:LoadBalancer", name, {}, opts);
        this.name = name;
        this.subnetId = args.subnetId;
        this.balancer = new openstack.loadbalancer.LoadBalancer(`${name}-lb`, { vipSubnetId: args.subnetId }, { parent: this });
        this.vipAddress = this.balancer.vipAddress;
        // Rackspace's load balancers are reached through a floating IP on their VIP port.
        this.publicAddress = new openstack.networking.FloatingIp(`${name}-ip`, { pool: args.externalNetwork, portId: this.balancer.vipPortId }, { parent: this }).address;

        this.registerOutputs({ vipAddress: this.vipAddress, publicAddress: this.publicAddress });
    }

    /** The release's pool, its members and health monitor, and the listener switched to it: updated last. */
    serve(release: BalancedRelease): openstack.loadbalancer.Listener {
        const name = this.name;
        const parent = { parent: this };
        const releaseBound = { ...parent, replacementTrigger: release.releaseId };
        const pool = new openstack.loadbalancer.Pool(`${name}-pool`, {
            loadbalancerId: this.balancer.id, protocol: "HTTP", lbMethod: "ROUND_ROBIN",
        }, releaseBound);
        new openstack.loadbalancer.Monitor(`${name}-health`, {
            poolId: pool.id, type: "HTTP", urlPath: "/health", expectedCodes: "200", delay: 5, timeout: 3, maxRetries: 3,
        }, releaseBound);
        const members = Array.from({ length: release.servers.count }, (_, index) => new openstack.loadbalancer.Member(`${name}-member-${index}`, {
            poolId: pool.id, address: release.servers.addresses.apply((all) => all[index]), protocolPort: release.port, subnetId: this.subnetId,
        }, { ...releaseBound, dependsOn: release.admitAfter }));
        return new openstack.loadbalancer.Listener(`${name}-http`, {
            loadbalancerId: this.balancer.id, protocol: "HTTP", protocolPort: this.port, defaultPoolId: pool.id,
        }, { ...parent, dependsOn: members });
    }

    /**
     * Not on Octavia (config.ts refuses holodeck:canary on openstack): a member Pulumi added to
     * the live pool stays there when a later step fails, and only the Octavia API, with the
     * cloud's credentials, could take a failed canary out of rotation.
     */
    tryCanary(): pulumi.Resource {
        throw new pulumi.ResourceError("a canary cannot be tried on an Octavia load balancer yet: set holodeck:canary to 0", this);
    }
}
