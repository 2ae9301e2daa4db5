import * as command from "@pulumi/command";
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";

export interface ManagedServerArgs {
    /** Network the server joins. */
    readonly networkId: pulumi.Input<string>;
    /** Subnet its fixed address comes from. */
    readonly subnetId: pulumi.Input<string>;
    /** Security groups of its port. */
    readonly securityGroupIds: pulumi.Input<string>[];
    /** Glance image ID. */
    readonly imageId: string;
    /** Flavor name. */
    readonly flavor: string;
    /** Nova key pair for the admin SSH key. */
    readonly keyPair: pulumi.Input<string>;
    /** External network the floating IP comes from. */
    readonly externalNetwork: string;
    /** Login user of the image. */
    readonly sshUser: string;
    /** Admin SSH private key (secret). */
    readonly sshPrivateKey: pulumi.Input<string>;
    /** The server's user data, given its private address (known before the server exists). */
    readonly userData: (privateAddress: pulumi.Output<string>) => pulumi.Input<string>;
    /** Shell command that succeeds once the server is ready for use, run after cloud-init. */
    readonly readyCheck: string;
}

/** What a component built on a ManagedServer takes from its caller: where and how it runs. */
export type HostArgs = Omit<ManagedServerArgs, "userData" | "readyCheck">;

/**
 * A long-lived server Pulumi manages over SSH: its own port (so its address is known up front),
 * a floating IP for the admin CIDR, and a readiness check everything else can depend on.
 */
export class ManagedServer extends pulumi.ComponentResource {
    /** Fixed private address. */
    readonly privateAddress: pulumi.Output<string>;
    /** Floating IP Pulumi reaches it on for SSH. */
    readonly publicAddress: pulumi.Output<string>;
    /** SSH connection to it (secret: it holds the admin key). */
    readonly connection: pulumi.Output<command.types.input.remote.ConnectionArgs>;
    /** The server; its id changes when it is replaced. */
    readonly server: openstack.compute.Instance;
    /** Completes once cloud-init has run and the readiness check passes. */
    readonly ready: command.remote.Command;

    constructor(name: string, args: ManagedServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("holodeck:index:ManagedServer", name, {}, opts);
        const parent = { parent: this };

        // A new image or flavor makes a new server: it gets its own port, since a port cannot
        // move to the new server while the old one still holds it (create-before-delete).
        const port = new openstack.networking.Port(`${name}-port`, {
            networkId: args.networkId,
            fixedIps: [{ subnetId: args.subnetId }],
            securityGroupIds: args.securityGroupIds,
            adminStateUp: true,
        }, { ...parent, replacementTrigger: `${args.imageId}/${args.flavor}` });
        this.privateAddress = port.allFixedIps[0];

        this.server = new openstack.compute.Instance(`${name}-server`, {
            imageId: args.imageId,
            flavorName: args.flavor,
            keyPair: args.keyPair,
            networks: [{ port: port.id }],
            userData: args.userData(this.privateAddress),
        }, { ...parent, deleteBeforeReplace: false, replaceOnChanges: ["imageId", "flavorName"] });

        // The floating IP stays; its association moves to a new port in place.
        const floatingIp = new openstack.networking.FloatingIp(`${name}-ip`, { pool: args.externalNetwork }, parent);
        const association = new openstack.networking.FloatingIpAssociate(`${name}-ip-association`, {
            floatingIp: floatingIp.address,
            portId: port.id,
        }, { ...parent, dependsOn: [this.server] });
        this.publicAddress = floatingIp.address;
        this.connection = pulumi.secret({ host: floatingIp.address, user: args.sshUser, privateKey: args.sshPrivateKey });

        this.ready = new command.remote.Command(`${name}-ready`, {
            connection: this.connection,
            // cloud-init exits non-zero for recoverable warnings too: the check decides.
            create: `cloud-init status --wait >/dev/null || true; ${args.readyCheck}`,
            triggers: [this.server.id],
        }, { ...parent, dependsOn: [association] });

        this.registerOutputs({ privateAddress: this.privateAddress, publicAddress: this.publicAddress });
    }
}
