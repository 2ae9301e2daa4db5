import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { balancerSwitchScript, renderBalancerUserData } from "../lib/balancerServer";
import { shellQuote } from "../lib/shell";
import type { Docker } from "./docker";
import { Balancer, BalancerArgs } from "./substrate";

export interface ContainerBalancerArgs extends BalancerArgs {
    /** The docker substrate the balancer's server runs on. */
    readonly docker: Docker;
}

/**
 * The docker substrate's balancer, what Octavia is on OpenStack: a server container running
 * haproxy (lib/balancerServer.ts). Each release is switched in by a command run on it once the
 * release's gates have passed, and only when its servers pass haproxy's own checks; until then
 * the balancer serves the previous release. A new release's switch is created before the old
 * one's goes, which has nothing to undo.
 */
export class ContainerBalancer extends pulumi.ComponentResource implements Balancer {
    readonly vipAddress: pulumi.Output<string>;
    readonly publicAddress: pulumi.Output<string>;
    readonly port = 80;
    /** The switch to the release: once it has run, the balancer serves it. */
    readonly listener: command.remote.Command;

    constructor(name: string, args: ContainerBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:ContainerBalancer", name, {}, opts);
        const port = this.port;
        const server = args.docker.fixedServer(`${name}-host`, "balancer", {
            userData: ({ sshHostKey }) => pulumi.secret(sshHostKey.apply((hostKey) => renderBalancerUserData({ sshHostKey: hostKey, port }))),
            readyCheck: "systemctl is-active --quiet haproxy",
        }, this);
        this.vipAddress = server.privateAddress;
        this.publicAddress = server.publicAddress;
        const script = pulumi.all([args.releaseId, args.servers.addresses]).apply(([releaseId, servers]) =>
            `sudo bash -c ${shellQuote(balancerSwitchScript({ releaseId, servers, port: args.port }))}`);
        this.listener = new command.remote.Command(`${name}-switch`, {
            connection: server.connection,
            create: script,
            // A new balancer server is switched to the release anew.
            triggers: [args.releaseId, server.serverId],
        }, { parent: this, dependsOn: [server.ready, ...args.admitAfter] });

        this.registerOutputs({ vipAddress: this.vipAddress, publicAddress: this.publicAddress });
    }
}
