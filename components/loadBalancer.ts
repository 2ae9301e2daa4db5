import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { Balancer, BalancerArgs } from "./substrate";

export interface LoadBalancerArgs extends BalancerArgs {
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
    /** Updated last: once it is, the balancer serves the new release. */
    readonly listener: openstack.loadbalancer.Listener;

    constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:LoadBalancer", name, {}, opts);
        const parent = { parent: this };
        const releaseBound = { ...parent, replacementTrigger: args.releaseId };

        const balancer = new openstack.loadbalancer.LoadBalancer(`${name}-lb`, { vipSubnetId: args.subnetId }, parent);
        this.vipAddress = balancer.vipAddress;
        const pool = new openstack.loadbalancer.Pool(`${name}-pool`, {
            loadbalancerId: balancer.id, protocol: "HTTP", lbMethod: "ROUND_ROBIN",
        }, releaseBound);
        new openstack.loadbalancer.Monitor(`${name}-health`, {
            poolId: pool.id, type: "HTTP", urlPath: "/health", expectedCodes: "200", delay: 5, timeout: 3, maxRetries: 3,
        }, releaseBound);
        const members = Array.from({ length: args.servers.count }, (_, index) => new openstack.loadbalancer.Member(`${name}-member-${index}`, {
            poolId: pool.id, address: args.servers.addresses.apply((all) => all[index]), protocolPort: args.port, subnetId: args.subnetId,
        }, { ...releaseBound, dependsOn: args.admitAfter }));
        this.listener = new openstack.loadbalancer.Listener(`${name}-http`, {
            loadbalancerId: balancer.id, protocol: "HTTP", protocolPort: this.port, defaultPoolId: pool.id,
        }, { ...parent, dependsOn: members });
        // Rackspace's load balancers are reached through a floating IP on their VIP port.
        this.publicAddress = new openstack.networking.FloatingIp(`${name}-ip`, { pool: args.externalNetwork, portId: balancer.vipPortId }, parent).address;

        this.registerOutputs({ vipAddress: this.vipAddress, publicAddress: this.publicAddress });
    }
}
