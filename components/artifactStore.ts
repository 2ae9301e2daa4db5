import * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHmac } from "node:crypto";
import { reportedOn, resourceError } from "../lib/errors";
import { objectName, publishCopyScript } from "../lib/holoMaker";
import { ShippedFile } from "../lib/repoFiles";
import { shellQuote } from "../lib/shell";
import { promotedObjectName, Release } from "./artifact";
import { SaltMaster } from "./saltMaster";
import { Store } from "./substrate";

/** A catalog entry as Keystone returns it (identity.getAuthScope). */
export interface CatalogService {
    readonly type: string;
    readonly endpoints: readonly { readonly interface: string; readonly region: string; readonly url: string }[];
}

/** The public object-store (Swift) endpoint of `region` in a Keystone catalog. */
export function objectStoreEndpoint(catalog: readonly CatalogService[], region: string): string {
    const endpoint = catalog
        .filter((service) => service.type === "object-store")
        .flatMap((service) => service.endpoints)
        .find((candidate) => candidate.interface === "public" && (!region || candidate.region === region));
    if (!endpoint) throw new Error(`the cloud's catalog has no public object-store endpoint${region ? ` in region ${region}` : ""}: Holodeck keeps artifacts in Swift`);
    return endpoint.url.replace(/\/+$/, "");
}

const day = 86400;

/**
 * When a download URL made at `nowSeconds` expires: `ttlDays` after the start of the current
 * window of `renewDays`. Every `up` inside one window makes the very same URL (nothing changes);
 * the first `up` of the next window renews it; and a URL handed to a new server is valid for at
 * least `ttlDays - renewDays` more days.
 */
export function downloadUrlExpiry(nowSeconds: number, ttlDays: number, renewDays: number): number {
    if (!(renewDays > 0 && ttlDays > renewDays)) throw new Error(`a download URL must live longer (${ttlDays} days) than its renewal window (${renewDays} days)`);
    const window = renewDays * day;
    return Math.floor(nowSeconds / window) * window + ttlDays * day;
}


/**
 * A Swift temporary URL (tempurl middleware) for GET of `objectUrl` until `expires`: HMAC-SHA256
 * with the container's key over "GET\n<expires>\n<path from /v1/ on>", hex encoded (Swift tells
 * the digest by the signature's length).
 */
export function signTempUrl(objectUrl: string, key: string, expires: number): string {
    const url = new URL(objectUrl);
    const at = url.pathname.indexOf("/v1/");
    if (at < 0) throw new Error(`${objectUrl} is not a Swift object URL (no /v1/ in its path)`);
    if (!key) throw new Error("the container's temporary URL key is empty");
    const signature = createHmac("sha256", key).update(`GET\n${expires}\n${url.pathname.slice(at)}`).digest("hex");
    return `${url.origin}${url.pathname}?temp_url_sig=${signature}&temp_url_expires=${expires}`;
}

/** The minion's command that uploads the release whose manifest is at $manifest (credential on stdin). */
export function publishCommand(containerUrl: string, authUrl: string): string {
    return `/usr/local/bin/holodeck-publish --manifest "$manifest" --container-url ${shellQuote(containerUrl)} --auth-url ${shellQuote(authUrl)}`;
}

/** The remote script that copies a promoted release in (credential and source URL on stdin). */
export function copyScript(release: Pick<Release, "packageName" | "version" | "sha256">, object: string, containerUrl: string, authUrl: string): string {
    return publishCopyScript(release, object, ["--container-url", containerUrl, "--auth-url", authUrl]);
}

/**
 * Copies a promoted release into a store on `master` (it reaches both stores): holodeck-publish
 * (`publisher`) put in the login user's home, then `copy` run there (`${name}-publisher` and
 * `${name}-copy`, children of `store`).
 */
export function copyOnMaster(
    store: pulumi.Resource, name: string, master: SaltMaster, publisher: ShippedFile, copy: Omit<command.remote.CommandArgs, "connection">,
): command.remote.Command {
    const copied = new command.remote.CopyToRemote(`${name}-publisher`, {
        connection: master.connection,
        source: new pulumi.asset.FileAsset(publisher.path),
        remotePath: `/home/${master.sshUser}/holodeck-publish`,
        triggers: [publisher.sha256, master.serverId],
    }, { parent: store, dependsOn: [master.ready] });
    return new command.remote.Command(`${name}-copy`, { ...copy, connection: master.connection }, { parent: store, dependsOn: [copied] });
}

export interface ArtifactStoreArgs {
    /** Keystone v3 URL of the cloud (the provider's openstack:authUrl). */
    readonly authUrl: string;
    /** Region of the object store ("" for the provider's). */
    readonly region: string;
    /** Days a download URL of an artifact stays valid (app servers and promotion use it); default 90. */
    readonly downloadUrlDays?: number;
    /** Days between renewals of the download URLs (see `downloadUrlExpiry`); default 30. */
    readonly renewUrlDays?: number;
}

/**
 * A private Swift container, one object per release, of this stack's own: the build minion
 * publishes into it, and a promoting stack copies the verified release into it. Uploads use a
 * Keystone application credential that may only PUT objects there; servers download through
 * temporary URLs signed with the container's key, renewed by `up` (see `downloadUrlExpiry`).
 */
export class ArtifactStore extends pulumi.ComponentResource implements Store {
    /** Container name. */
    readonly containerName: pulumi.Output<string>;
    /** URL of the container (objects are below it). */
    readonly containerUrl: pulumi.Output<string>;
    /** Keystone v3 URL the build minion authenticates at. */
    readonly authUrl: string;
    /** Application credential ID and secret of the minion (secret). */
    readonly uploadCredential: pulumi.Output<{ id: string; secret: string }>;
    readonly publishCommand: pulumi.Output<string>;
    readonly publishStdin: pulumi.Output<string>;

    private readonly storeName: string;
    private readonly tempUrlKey: pulumi.Output<string>;
    private readonly ttlDays: number;
    private readonly renewDays: number;

    constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:ArtifactStore", name, {}, opts);
        const parent = { parent: this };
        this.storeName = name;
        this.ttlDays = args.downloadUrlDays ?? 90;
        this.renewDays = args.renewUrlDays ?? 30;
        // Checked here, before anything is created.
        downloadUrlExpiry(0, this.ttlDays, this.renewDays);

        const tempUrlKey = new random.RandomPassword(`${name}-temp-url-key`, { length: 40, special: false }, {
            ...parent, additionalSecretOutputs: ["result"],
        });
        this.tempUrlKey = tempUrlKey.result;
        // forceDestroy: `pulumi destroy` deletes the releases with it (Swift refuses to delete a
        // container that holds objects).
        const container = new openstack.objectstorage.Container(`${name}-container`, {
            metadata: { "Temp-URL-Key": tempUrlKey.result },
            forceDestroy: true,
        }, parent);
        this.containerName = container.name;

        const scope = pulumi.output(openstack.identity.getAuthScope({ name: `${name}-scope` }, parent).catch((error: Error) => {
            throw resourceError(`could not read the project and the service catalog from the cloud (openstack:authUrl ${args.authUrl}): ${error.message}`, this);
        }));
        this.containerUrl = pulumi.all([scope.serviceCatalogs, container.name]).apply(reportedOn(this,
            ([catalog, containerName]) => `${objectStoreEndpoint(catalog, args.region)}/${containerName}`,
        ));
        this.authUrl = args.authUrl;

        const credential = new openstack.identity.ApplicationCredential(`${name}-uploader`, {
            description: "Holodeck build minion: upload release .debs to one container",
            unrestricted: false,
            accessRules: [{
                service: "object-store",
                method: "PUT",
                path: pulumi.interpolate`/v1/AUTH_${scope.projectId}/${container.name}/*`,
            }],
        }, { ...parent, additionalSecretOutputs: ["secret"] });
        this.uploadCredential = pulumi.secret({ id: credential.id, secret: credential.secret });
        this.publishCommand = this.containerUrl.apply((containerUrl) => publishCommand(containerUrl, args.authUrl));
        this.publishStdin = pulumi.secret(this.uploadCredential.apply((upload) => `${upload.id}\n${upload.secret}\n`));

        this.registerOutputs({ containerName: this.containerName, containerUrl: this.containerUrl });
    }

    /**
     * A download URL for `object`, signed here with the container's key (a secret). It changes
     * only when the renewal window does: the release's pillar is rewritten in place then, and the
     * release id, which it does not feed, stays.
     */
    downloadUrl(object: pulumi.Input<string>): pulumi.Output<string> {
        const expires = downloadUrlExpiry(Math.floor(Date.now() / 1000), this.ttlDays, this.renewDays);
        return pulumi.secret(pulumi.all([this.containerUrl, object, this.tempUrlKey]).apply(reportedOn(this, ([containerUrl, name, key]) => {
            if (!objectName.test(name)) throw new Error(`'${name}' is not an object name Holodeck stores`);
            return signTempUrl(`${containerUrl}/${name}`, key, expires);
        })));
    }

    /**
     * Copies a release another stack verified into this store, on `master` (it reaches both
     * stores) with holodeck-publish (`publisher`), checking its sha256 there; returns the object's
     * name once it is stored. `release.url` (the other store's temporary URL) goes in on stdin
     * with the upload credential.
     */
    copyIn(release: Release, master: SaltMaster, publisher: ShippedFile): pulumi.Output<string> {
        const object = promotedObjectName(release.url);
        const copy = copyOnMaster(this, this.storeName, master, publisher, {
            create: this.containerUrl.apply((containerUrl) => copyScript(release, object, containerUrl, this.authUrl)),
            stdin: pulumi.secret(this.uploadCredential.apply((credential) => `${credential.id}\n${credential.secret}\n${release.url}\n`)),
            triggers: [release.sha256, object, publisher.sha256],
        });
        return copy.stdout.apply(() => object);
    }

}
