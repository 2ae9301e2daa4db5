import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { balancerCanaryScript, balancerSwitchScript, renderBalancerUserData } from "../lib/balancerServer";
import { shellQuote } from "../lib/shell";
import type { Docker } from "./docker";
import { Balancer, BalancedRelease, CanaryTrial, Host } from "./substrate";

export interface ContainerBalancerArgs {
    /** The docker substrate the balancer's server runs on. */
    readonly docker: Docker;
}

/**
 * The docker substrate's balancer, what Octavia is on OpenStack: a server container running
 * haproxy (lib/balancerServer.ts). Each release is switched in by a command run on it once the
 * release's gates have passed, and only when its servers pass haproxy's own checks; until then
 * the balancer serves the previous release. A new release's switch is created before the old
 * one's goes, which has nothing to undo. A canary is tried by a command too, which withdraws it
 * again whatever its verdict.
 */
export class ContainerBalancer extends pulumi.ComponentResource implements Balancer {
    readonly vipAddress: pulumi.Output<string>;
    readonly publicAddress: pulumi.Output<string>;
    readonly port = 80;
    private readonly name: string;
    private readonly server: Host;

    constructor(name: string, args: ContainerBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:ContainerBalancer", name, {}, opts);
        this.name = name;
        const port = this.port;
        this.server = args.docker.fixedServer(`${name}-host`, "balancer", {
            userData: ({ sshHostKey }) => pulumi.secret(sshHostKey.apply((hostKey) => renderBalancerUserData({ sshHostKey: hostKey, port }))),
            readyCheck: "systemctl is-active --quiet haproxy",
        }, this);
        this.vipAddress = this.server.privateAddress;
        this.publicAddress = this.server.publicAddress;

        this.registerOutputs({ vipAddress: this.vipAddress, publicAddress: this.publicAddress });
    }

    serve(release: BalancedRelease): command.remote.Command {
        return this.onBalancer("switch", release.releaseId, release.admitAfter,
            pulumi.all([release.releaseId, release.servers.addresses]).apply(([releaseId, servers]) => balancerSwitchScript({ releaseId, servers, port: release.port })));
    }

    tryCanary(canary: CanaryTrial): command.remote.Command {
        return this.onBalancer("canary", canary.releaseId, canary.admitAfter,
            pulumi.all([canary.releaseId, canary.addresses]).apply(([releaseId, servers]) =>
                balancerCanaryScript({ releaseId, servers, port: canary.port, soakSeconds: canary.soakSeconds })));
    }

    // Run once per release, and anew on a new balancer server.
    private onBalancer(what: string, releaseId: pulumi.Input<string>, after: pulumi.Input<pulumi.Resource>[], script: pulumi.Output<string>): command.remote.Command {
        return new command.remote.Command(`${this.name}-${what}`, {
            connection: this.server.connection,
            create: script.apply((text) => `sudo bash -c ${shellQuote(text)}`),
            triggers: [releaseId, this.server.serverId],
        }, { parent: this, dependsOn: [this.server.ready, ...after] });
    }
}
