import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { ArtifactStore } from "./artifactStore";
import { LoadBalancer } from "./loadBalancer";
import { ManagedServer } from "./managedServer";
import { ExistingSubnet, Network } from "./network";
import { AppServer, AppServerSpec, Balancer, Host, HostRole, HostSpec, Store, Substrate } from "./substrate";

export interface OpenStackArgs {
    /** Keystone v3 URL of the cloud (the provider's openstack:authUrl). */
    readonly authUrl: string;
    /** Region of the object store ("" for the provider's). */
    readonly region: string;
    /** The admin SSH public key (OpenSSH line): Nova's key pair, for SSH and console recovery. */
    readonly adminPublicKey: pulumi.Input<string>;
    /** The admin SSH private key (secret): every connection logs in with it. */
    readonly adminPrivateKey: pulumi.Input<string>;
    /** Login user of the image. */
    readonly sshUser: string;
    /** Glance image ID of every server. */
    readonly imageId: string;
    /** Flavor of the app servers. */
    readonly flavor: string;
    /** Flavor of the Salt master. */
    readonly masterFlavor: string;
    /** Flavor of the build minion. */
    readonly buildFlavor: string;
    /** An existing network and subnet to join; undefined creates a network, subnet and router. */
    readonly existing?: ExistingSubnet;
    /** CIDR of the subnet created when none exists. */
    readonly networkCidr: string;
    /** External network for floating IPs and the router's gateway. */
    readonly externalNetwork: string;
    /** The only CIDR SSH is open to. */
    readonly adminCidr: string;
    /** The app's TCP port. */
    readonly appPort: number;
    /** CIDR allowed on the app port directly; "" for none. */
    readonly appCidr: string;
    /** Whether a load balancer forwards to the app servers. */
    readonly loadBalancer: boolean;
}

/**
 * Servers on OpenStack: Nova instances on a Neutron network behind security groups, reached over
 * floating IPs; releases in a Swift container; an Octavia load balancer. Not a component of its
 * own: what it makes are top-level resources (`admin`, `net`, `artifacts`, `balancer`), as they
 * were before substrates existed, so stacks keep them.
 */
export class OpenStack implements Substrate {
    readonly sshUser: string;
    readonly saltInstall = "repository";
    /** The stack's network, subnet, router and security groups. */
    readonly network: Network;
    private readonly keyPair: openstack.compute.Keypair;

    constructor(private readonly args: OpenStackArgs) {
        this.sshUser = args.sshUser;
        this.keyPair = new openstack.compute.Keypair("admin", { publicKey: args.adminPublicKey });
        this.network = new Network("net", {
            existing: args.existing,
            networkCidr: args.networkCidr,
            externalNetwork: args.externalNetwork,
            adminCidr: args.adminCidr,
            appPort: args.appPort,
            appCidr: args.appCidr,
            loadBalancer: args.loadBalancer,
        });
    }

    host(name: string, spec: HostSpec, parent: pulumi.Resource): Host {
        const network = this.network;
        const place: Record<HostRole, { groups: pulumi.Input<string>[]; flavor: string }> = {
            "salt-master": { groups: [network.adminGroup.id, network.saltMasterGroup.id], flavor: this.args.masterFlavor },
            "build-minion": { groups: [network.adminGroup.id], flavor: this.args.buildFlavor },
        };
        return new ManagedServer(name, {
            networkId: network.networkId,
            subnetId: network.subnetId,
            securityGroupIds: place[spec.role].groups,
            imageId: this.args.imageId,
            flavor: place[spec.role].flavor,
            keyPair: this.keyPair.name,
            externalNetwork: this.args.externalNetwork,
            sshUser: this.args.sshUser,
            sshPrivateKey: this.args.adminPrivateKey,
            userData: spec.userData,
            readyCheck: spec.readyCheck,
        }, { parent });
    }

    appServer(name: string, spec: AppServerSpec, opts: pulumi.CustomResourceOptions): AppServer {
        const server = new openstack.compute.Instance(name, {
            imageId: this.args.imageId,
            flavorName: this.args.flavor,
            keyPair: this.keyPair.name,
            networks: [{ uuid: this.network.networkId }],
            securityGroups: [this.network.appServersGroup.name],
            userData: spec.userData,
            metadata: { "holodeck-minion-id": spec.minionId, "holodeck-release": spec.releaseId },
        }, {
            ...opts,
            // The provider would rebuild or resize in place; an immutable server is replaced.
            replaceOnChanges: ["imageId", "flavorName", "userData"],
            deleteBeforeReplace: false,
        });
        return { address: server.accessIpV4, resource: server };
    }

    artifactStore(name: string): Store {
        return new ArtifactStore(name, { authUrl: this.args.authUrl, region: this.args.region });
    }

    balancer(name: string): Balancer {
        return new LoadBalancer(name, { subnetId: this.network.subnetId, externalNetwork: this.args.externalNetwork });
    }
}
