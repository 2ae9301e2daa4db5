import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { storePublishedPort } from "../lib/containerServers";
import { ShippedFile } from "../lib/repoFiles";
import { renderStoreUserData, signStoreUrl, storeCopyScript, storeCredentialLines, storeObjectUrl, storePublishCommand } from "../lib/storeServer";
import { promotedObjectName, Release } from "./artifact";
import { copyOnMaster, downloadUrlExpiry } from "./artifactStore";
import { ContainerServer } from "./containerServer";
import type { Docker } from "./docker";
import { SaltMaster } from "./saltMaster";
import { Store } from "./substrate";

export interface ContainerStoreArgs {
    /** The docker substrate the store's server runs on. */
    readonly docker: Docker;
    /** Days a download URL stays valid; default 90. */
    readonly downloadUrlDays?: number;
    /** Days between renewals of the download URLs (see `downloadUrlExpiry`); default 30. */
    readonly renewUrlDays?: number;
}

const uploadUser = "holodeck-publish";

/**
 * The docker substrate's artifact store, what a Swift container with temporary URLs is on
 * OpenStack: a server container running nginx (lib/storeServer.ts) that stores a release PUT with
 * its upload credential and serves it only at a URL the program signed, until it expires.
 */
export class ContainerStore extends pulumi.ComponentResource implements Store {
    readonly publishCommand: pulumi.Output<string>;
    readonly publishStdin: pulumi.Output<string>;
    /** The store's server. */
    readonly server: ContainerServer;

    private readonly storeName: string;
    private readonly baseUrl: string;
    private readonly signingSecret: pulumi.Output<string>;
    private readonly ttlDays: number;
    private readonly renewDays: number;

    constructor(name: string, args: ContainerStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:ContainerStore", name, {}, opts);
        const parent = { parent: this };
        this.storeName = name;
        this.ttlDays = args.downloadUrlDays ?? 90;
        this.renewDays = args.renewUrlDays ?? 30;
        downloadUrlExpiry(0, this.ttlDays, this.renewDays);

        const secret = (what: string, length: number) => new random.RandomPassword(`${name}-${what}`, { length, special: false }, {
            ...parent, additionalSecretOutputs: ["result"],
        }).result;
        this.signingSecret = secret("signing-secret", 40);
        const uploadPassword = secret("upload-password", 32);
        const signingSecret = this.signingSecret;
        this.server = args.docker.fixedServer(`${name}-host`, "artifact-store", {
            userData: ({ sshHostKey }) => pulumi.secret(pulumi.all([sshHostKey, signingSecret, uploadPassword]).apply(
                ([hostKey, signing, password]) => renderStoreUserData({ sshHostKey: hostKey, signingSecret: signing, uploadUser, uploadPassword: password }))),
            readyCheck: "systemctl is-active --quiet nginx",
        }, this, { port: 80, hostAddress: args.docker.plan.gateway, hostPort: storePublishedPort });
        // The one URL for everyone, this stack's servers and a promoting stack's master alike.
        this.baseUrl = `http://${args.docker.plan.storeEndpoint}`;
        // Through the server's readiness: the build publishes only once nginx serves.
        this.publishCommand = this.server.ready.stdout.apply(() => storePublishCommand(this.baseUrl));
        this.publishStdin = pulumi.secret(uploadPassword.apply((password) => storeCredentialLines(uploadUser, password)));

        this.registerOutputs({});
    }

    /** A download URL for `object`, signed with the store's secret; renewed as Swift's are (see `downloadUrlExpiry`). */
    downloadUrl(object: pulumi.Input<string>): pulumi.Output<string> {
        const expires = downloadUrlExpiry(Math.floor(Date.now() / 1000), this.ttlDays, this.renewDays);
        return pulumi.secret(pulumi.all([object, this.signingSecret]).apply(([name, secret]) => signStoreUrl(storeObjectUrl(this.baseUrl, name), secret, expires)));
    }

    copyIn(release: Release, master: SaltMaster, publisher: ShippedFile): pulumi.Output<string> {
        const object = promotedObjectName(release.url);
        const copy = copyOnMaster(this, this.storeName, master, publisher, {
            create: this.server.ready.stdout.apply(() => storeCopyScript(release, object, this.baseUrl)),
            stdin: pulumi.secret(this.publishStdin.apply((credential) => `${credential}${release.url}\n`)),
            triggers: [release.sha256, object, publisher.sha256],
        });
        return copy.stdout.apply(() => object);
    }
}
