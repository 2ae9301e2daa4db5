import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

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

export interface ArtifactStoreArgs {
    /** Keystone v3 URL of the cloud (the provider's openstack:authUrl). */
    readonly authUrl: string;
    /** Region of the object store ("" for the provider's). */
    readonly region: string;
    /** Days a download URL of an artifact stays valid (app servers and promotion use it). */
    readonly downloadUrlDays: number;
}

/**
 * A private Swift container, one object per release. The build minion may only PUT objects into
 * it (a Keystone application credential restricted by access rules); servers download through
 * temporary URLs signed with the container's key.
 */
export class ArtifactStore extends pulumi.ComponentResource {
    /** Container name. */
    readonly containerName: pulumi.Output<string>;
    /** URL of the container (objects are below it). */
    readonly containerUrl: pulumi.Output<string>;
    /** Keystone v3 URL the build minion authenticates at. */
    readonly authUrl: string;
    /** Application credential ID and secret of the minion (secret). */
    readonly uploadCredential: pulumi.Output<{ id: string; secret: string }>;

    private readonly args: ArtifactStoreArgs;

    constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:ArtifactStore", name, {}, opts);
        const parent = { parent: this };
        this.args = args;

        const tempUrlKey = new random.RandomPassword(`${name}-temp-url-key`, { length: 40, special: false }, {
            ...parent, additionalSecretOutputs: ["result"],
        });
        const container = new openstack.objectstorage.Container(`${name}-container`, {
            metadata: { "Temp-URL-Key": tempUrlKey.result },
        }, parent);
        this.containerName = container.name;

        const scope = openstack.identity.getAuthScopeOutput({ name: `${name}-scope` }, parent);
        this.containerUrl = pulumi.all([scope.serviceCatalogs, container.name]).apply(
            ([catalog, containerName]) => `${objectStoreEndpoint(catalog, args.region)}/${containerName}`,
        );
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

        this.registerOutputs({ containerName: this.containerName, containerUrl: this.containerUrl });
    }

    /** A download URL for `file`, valid for the configured days, renewed when it has expired. */
    downloadUrl(name: string, file: pulumi.Input<string>): pulumi.Output<string> {
        return new openstack.objectstorage.TempUrl(name, {
            container: this.containerName,
            object: file,
            method: "get",
            ttl: this.args.downloadUrlDays * 86400,
            regenerate: true,
        }, { parent: this }).url;
    }
}
