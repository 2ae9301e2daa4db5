// The docker substrate's plain data: where each server container sits on the stack's Docker
// network, and the NoCloud seed cloud-init reads its user data and meta-data from.
import { stringify } from "yaml";
import { parseIpv4Cidr } from "../policy/cidr";

/** Servers with a fixed address, like OpenStack's ports that outlive their servers. */
export type FixedServer = "salt-master" | "build-minion" | "artifact-store" | "balancer";
const fixedOrder: readonly FixedServer[] = ["salt-master", "build-minion", "artifact-store", "balancer"];

/** Where the servers of one Docker network sit. */
export interface AddressPlan {
    /** The network, as configured (holodeck:networkCidr). */
    readonly subnet: string;
    /** The bridge's own address on it: this machine, as the servers see it. */
    readonly gateway: string;
    /** Fixed addresses, known before the containers exist (the master binds to its own). */
    readonly fixed: Readonly<Record<FixedServer, string>>;
    /** The upper half of the network, where Docker gives app servers their addresses. */
    readonly dynamicRange: string;
    /** Where the artifact store is published, host:port (see `storePublishedPort`). */
    readonly storeEndpoint: string;
}

/**
 * The port the artifact store is published on at its network's gateway. The gateway is an address
 * of this machine, so every stack's servers reach the store there (as every project reaches a Swift
 * endpoint: a promoting stack copies from another's), though Docker keeps the stacks' networks
 * apart. Bound to the gateway alone, stacks never contend for the port, and it stays off the
 * machine's other interfaces.
 */
export const storePublishedPort = 8480;

/** The smallest network that holds the fixed servers and two releases' worth of app servers. */
export const narrowestDockerPrefix = 27;

/** The address plan of `cidr`: the gateway first, then the fixed servers, app servers in the upper half. */
export function addressPlan(cidr: string): AddressPlan {
    const parsed = parseIpv4Cidr(cidr);
    if (!parsed.cidr) throw new Error(`holodeck:networkCidr '${cidr}' ${parsed.problem}`);
    const { address, prefixLength } = parsed.cidr;
    if (prefixLength > narrowestDockerPrefix) throw new Error(`holodeck:networkCidr '${cidr}' is too small for the docker substrate: use a /${narrowestDockerPrefix} or wider`);
    const base = address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
    const dotted = (value: number) => [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
    const half = 2 ** (32 - prefixLength - 1);
    const gateway = dotted(base + 1);
    return {
        subnet: cidr,
        gateway,
        fixed: Object.fromEntries(fixedOrder.map((server, index) => [server, dotted(base + 2 + index)])) as Record<FixedServer, string>,
        dynamicRange: `${dotted(base + half)}/${prefixLength + 1}`,
        storeEndpoint: `${gateway}:${storePublishedPort}`,
    };
}

/** Where cloud-init's NoCloud data source reads a server's seed. */
export const seedDir = "/var/lib/cloud/seed/nocloud";

/**
 * The meta-data of a server's seed: its instance id (a new one makes cloud-init run anew; it is
 * also what the master's scripts compare their server id with) and the admin's public key, which
 * cloud-init gives the image's default user, as from a Nova key pair. No local-hostname: a
 * container cannot set it (Docker's hostname is used).
 */
export function renderMetaData(instanceId: string, adminPublicKey: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(instanceId)) throw new Error(`instance id ${JSON.stringify(instanceId)} must be letters, digits, '.', '_' or '-'`);
    if (!/^ssh-[a-z0-9-]+ [A-Za-z0-9+/]+={0,2}( [^\n]*)?\n?$/.test(adminPublicKey)) throw new Error("the admin public key must be one OpenSSH public key line");
    return stringify({ "instance-id": instanceId, "public-keys": [adminPublicKey.trim()] }, { version: "1.1", lineWidth: 0 });
}
