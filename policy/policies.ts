// Holodeck's guard rails as Pulumi policies: what a reviewer would otherwise have to spot in a
// preview. Each policy validates one resource's inputs as the engine sends them: after the
// provider's Check (so auto-names are filled in), secrets unwrapped. A value the engine does not
// know yet during a preview (e.g. user data built from keys that do not exist yet) cannot be read:
// the pack then reports "can't run policy ... during preview" as advisory, and the policy runs on
// the known value at `pulumi up`, before the resource is created.
//
// Kept apart from index.ts, which serves them: constructing a PolicyPack starts a gRPC server.
import type { ReportViolation, ResourceValidation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { parse } from "yaml";
import { addressCount, broadestPrivatePrefix, parseIpv4Cidr } from "./cidr";

/** Resource properties as a policy sees them. */
type Props = Record<string, unknown>;

/** Type tokens of the resources the policies guard. */
export const types = {
    secGroupRule: "openstack:networking/secGroupRule:SecGroupRule",
    instance: "openstack:compute/instance:Instance",
    container: "openstack:objectstorage/container:Container",
} as const;

/** SSH and Salt's publish and return ports: never open to the world. */
export const adminPorts: readonly number[] = [22, 4505, 4506];
/** Salt's ports: only from the minions' security group. */
export const saltPorts: readonly number[] = [4505, 4506];

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether a property is set, read without the pack's unknown-value check: the proxy the pack wraps
 * resources in only intercepts reads, so a value not known during a preview shows here as its
 * (non-empty) placeholder and counts as set, instead of ending the check.
 */
function isSet(props: Props, key: string): boolean {
    const value: unknown = Object.getOwnPropertyDescriptor(props, key)?.value;
    return value !== undefined && value !== null && value !== "";
}

/** A validation that runs only on resources of `type`. */
function forType(type: string, validate: (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void): ResourceValidation {
    return (args, report) => {
        if (args.type === type) validate(args.props, args, report);
    };
}

const plural = (ports: readonly number[]) => `port${ports.length > 1 ? "s" : ""} ${ports.join(", ")}`;

/**
 * Which of `ports` a Neutron security group rule admits over TCP: none for egress, UDP or ICMP
 * rules; a rule without a protocol admits every protocol, one without a port range every port.
 */
export function admittedTcpPorts(rule: Props, ports: readonly number[]): number[] {
    if (rule.direction !== "ingress") return [];
    if (!["", "any", "tcp", "6"].includes(String(rule.protocol ?? "").toLowerCase())) return [];
    // The provider sends 0 for a bound that is not set.
    const min = Number(rule.portRangeMin ?? 0) || 1;
    const max = Number(rule.portRangeMax ?? 0) || 65535;
    return ports.filter((port) => port >= min && port <= max);
}

/**
 * Where a rule admits traffic from, when that is anyone or could be: a /0 prefix (or one wider than
 * a /8), a prefix that is not a canonical IPv4 CIDR (Neutron normalises it: 0.0.0.0/00 is /0), or
 * no remote at all.
 */
export function worldSource(rule: Props): string | undefined {
    if (isSet(rule, "remoteIpPrefix")) {
        const prefix = String(rule.remoteIpPrefix);
        const parsed = parseIpv4Cidr(prefix);
        if (parsed.problem !== undefined) {
            return `remoteIpPrefix '${prefix}', which ${parsed.problem}. Only a canonical IPv4 CIDR can be judged here: Neutron normalises `
                + "what it is given (0.0.0.0/00 becomes 0.0.0.0/0, the whole internet)";
        }
        const { prefixLength } = parsed.cidr;
        if (prefixLength === 0) return `remoteIpPrefix ${prefix}`;
        return prefixLength < broadestPrivatePrefix ? `remoteIpPrefix ${prefix} (${addressCount(prefixLength)} addresses, much of the internet)` : undefined;
    }
    // Neutron admits any source when a rule names neither a prefix nor a group.
    return isSet(rule, "remoteGroupId") || isSet(rule, "remoteAddressGroupId") ? undefined : "any source (no remoteIpPrefix or remoteGroupId)";
}

/**
 * The Salt minion configuration a cloud-config document writes (/etc/salt/minion and
 * minion.d/*.conf, merged in order), or undefined when it writes none. Parsed as YAML 1.1, the
 * way cloud-init and Salt (PyYAML) read it.
 */
export function minionConfig(userData: string): Props | undefined {
    if (!userData.startsWith("#cloud-config")) return undefined;
    const document = parse(userData, { version: "1.1" }) as { write_files?: { path?: unknown; content?: unknown }[] } | null;
    const files = (document?.write_files ?? [])
        .filter((file) => typeof file.path === "string" && /^\/etc\/salt\/minion(\.d\/[^/]+\.conf)?$/.test(file.path));
    if (files.length === 0) return undefined;
    return Object.assign({}, ...files.map((file) => (parse(String(file.content ?? ""), { version: "1.1" }) ?? {}) as Props));
}

/** Whether `name` is the bridge's auto-name of the resource named `logicalName`: it plus "-" and 7 hex digits. */
export function isAutoName(name: string, logicalName: string): boolean {
    return name.startsWith(`${logicalName}-`) && /^[0-9a-f]{7}$/.test(name.slice(logicalName.length + 1));
}

const noWorldOpenAdminPorts: ResourceValidationPolicy = {
    name: "no-world-open-admin-ports",
    description: "No security group rule opens SSH (22) or Salt (4505, 4506) to the whole internet.",
    enforcementLevel: "mandatory",
    validateResource: forType(types.secGroupRule, (rule, _args, report) => {
        const ports = admittedTcpPorts(rule, adminPorts);
        const source = worldSource(rule);
        if (ports.length > 0 && source) {
            report(`This ingress rule opens ${plural(ports)} to ${source}. SSH must come only from holodeck:adminCidr and Salt only `
                + "from the app servers' security group (masters exposed on 4505/4506 were mass-exploited: CVE-2020-11651). Fix: set "
                + "remoteIpPrefix to the admin CIDR, or remoteGroupId to the minions' group, and give portRangeMin/portRangeMax "
                + "(a rule without them covers every port; one without protocol covers every protocol).");
        }
    }),
};

const saltPortsFromMinionsGroup: ResourceValidationPolicy = {
    name: "salt-ports-from-minions-group",
    description: "Salt's ports (4505, 4506) are open only to a security group (the minions'), never to a CIDR.",
    enforcementLevel: "mandatory",
    validateResource: forType(types.secGroupRule, (rule, _args, report) => {
        const ports = admittedTcpPorts(rule, saltPorts);
        if (ports.length > 0 && (isSet(rule, "remoteIpPrefix") || !isSet(rule, "remoteGroupId"))) {
            report(`This ingress rule admits Salt's ${plural(ports)} from ${isSet(rule, "remoteIpPrefix") ? `remoteIpPrefix ${String(rule.remoteIpPrefix)}` : "any source"}. `
                + "The master takes minions only from the app servers' security group. Fix: set remoteGroupId to that group "
                + "(components/network.ts does) and drop remoteIpPrefix, or narrow the port range so it leaves 4505-4506 out.");
        }
    }),
};

/**
 * Whether a server is attached to a pre-created port (a fixed address that outlives the server),
 * read like `isSet`.
 */
function onPreCreatedPort(server: Props): boolean {
    const networks: unknown = Object.getOwnPropertyDescriptor(server, "networks")?.value;
    return Array.isArray(networks) && networks.some((network) => typeof network === "object" && network !== null && isSet(network as Props, "port"));
}

const instancesCreateBeforeDelete: ResourceValidationPolicy = {
    name: "instances-create-before-delete",
    description: "Servers have no explicit name and no deleteBeforeReplace, so a replacement exists before its predecessor goes; "
        + "only a server on a pre-created port (the master, the build minion) is replaced delete-first.",
    enforcementLevel: "mandatory",
    validateResource: forType(types.instance, (server, args, report) => {
        const fixedPort = onPreCreatedPort(server);
        if (fixedPort && args.opts.deleteBeforeReplace !== true) {
            report("The server is attached to a pre-created port but deleteBeforeReplace is not true: its replacement would be "
                + "created while the old server still holds the port, and Neutron refuses (409, port in use). Fix: set "
                + "deleteBeforeReplace: true (the port, its address and floating IP stay; the server is replaced delete-first).");
        }
        if (!fixedPort && args.opts.deleteBeforeReplace === true) {
            report("deleteBeforeReplace is true: replacing this server would delete the running one before its successor exists "
                + "(downtime, and no old generation to fall back on when the health gate fails). Fix: remove the option or set "
                + "deleteBeforeReplace: false.");
        }
        if (isSet(server, "name") && !isAutoName(String(server.name), args.name)) {
            report(`The server has the explicit name '${String(server.name)}': the OpenStack bridge then deletes it before creating `
                + `its replacement (downtime). Fix: remove name and let Pulumi auto-name it (${args.name}-<7 hex digits>); the `
                + "release and minion id belong in metadata and grains.");
        }
    }),
};

const instanceHasKeyPair: ResourceValidationPolicy = {
    name: "instance-has-keypair",
    description: "Every server has the admin key pair (Pulumi's SSH to the master and build minion, console recovery elsewhere).",
    enforcementLevel: "mandatory",
    validateResource: forType(types.instance, (server, _args, report) => {
        if (!isSet(server, "keyPair")) {
            report("The server has no keyPair: Pulumi reaches the master and build minion over SSH with the admin key, and app "
                + "servers keep it for console recovery. Fix: pass keyPair (the `admin` Keypair's name, as index.ts does).");
        }
    }),
};

const appServerNamesRelease: ResourceValidationPolicy = {
    name: "app-server-names-release",
    description: "An app server's user data names its release: grain `release`, the metadata and the minion id agree.",
    enforcementLevel: "mandatory",
    validateResource: forType(types.instance, (server, _args, report) => {
        const metadata = (isSet(server, "metadata") ? server.metadata : {}) as Props;
        const markedApp = isSet(metadata, "holodeck-release") || isSet(metadata, "holodeck-minion-id");
        if (!isSet(server, "userData")) {
            if (markedApp) report("The server's metadata marks it as an app server, but it has no user data: it would never join Salt nor install its release. Fix: give it renderAppServerUserData's document (components/appServers.ts).");
            return;
        }
        const minion = minionConfig(String(server.userData));
        const grains = (minion?.grains ?? {}) as Props;
        if (!markedApp && grains.role !== "app") return;
        const fix = "Fix: render the user data with renderAppServerUserData (lib/cloudInit.ts) and grains { role: \"app\", release: "
            + "<release id> }, as components/appServers.ts does.";
        if (!minion) {
            report(`The server's metadata marks it as an app server, but its user data configures no Salt minion. ${fix}`);
            return;
        }
        const release = grains.release;
        if (typeof release !== "string" || !/^[0-9a-f]{12}$/.test(release)) {
            report(`The app server's user data names no release: its grain release is ${JSON.stringify(release)}, not a 12-hex release `
                + `id. With the release in the user data, a new release makes new servers and its pillar reaches only them. ${fix}`);
            return;
        }
        if (grains.role !== "app") report(`The app server's grain role is ${JSON.stringify(grains.role)}: the holodeck state targets role "app". ${fix}`);
        if (isSet(metadata, "holodeck-release") && metadata["holodeck-release"] !== release) {
            report(`The server's metadata names release ${JSON.stringify(metadata["holodeck-release"])} but its user data release ${release}. ${fix}`);
        }
        if (typeof minion.id !== "string" || !minion.id.includes(release)) {
            report(`The app server's minion id ${JSON.stringify(minion.id)} does not contain its release ${release}: ids must be unique `
                + "per release (a reused id inherits cached data, CVE-2016-9639) and the pillar top file picks the release's pillar "
                + "by id. Fix: use minionId() from components/appServers.ts.");
        }
    }),
};

const artifactContainerPrivate: ResourceValidationPolicy = {
    name: "artifact-container-private",
    description: "Swift containers are not world-readable: artifacts are downloaded through temporary URLs only.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            publicContainers: {
                type: "array", items: { type: "string" }, default: [],
                description: "Logical names of containers that may be world-readable.",
            },
        },
    },
    validateResource: forType(types.container, (container, args, report) => {
        if ((args.getConfig<{ publicContainers?: string[] }>().publicContainers ?? []).includes(args.name)) return;
        const acl = isSet(container, "containerRead") ? String(container.containerRead) : "";
        // Referrer grants (".r:*", ".r:host": the Referer header is the client's to choose) and listings; ".r:-host" denies.
        const grants = acl.split(",").map((grant) => grant.trim()).filter((grant) => /^\.r:[^-]/.test(grant) || grant === ".rlistings");
        if (grants.length > 0) {
            report(`containerRead '${acl}' makes the container world-readable (${grants.join(", ")}). Releases carry the app and `
                + "its manifest; servers download them through temporary URLs. Fix: remove containerRead, or, for a container "
                + `meant to be public, list '${args.name}' in this policy's publicContainers (--policy-pack-config).`);
        }
    }),
};

/** What must never appear in a command's script or environment, and what to call it. */
const secretPatterns: readonly [RegExp, string][] = [
    [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/, "a private key"],
    [/temp_url_sig=/, "a Swift temporary URL (its signature is a bearer credential)"],
    [/\bOS_(PASSWORD|APPLICATION_CREDENTIAL_SECRET|TOKEN|AUTH_TOKEN)=/, "an OpenStack credential"],
];

const noSecretsInCommandLines: ResourceValidationPolicy = {
    name: "no-secrets-in-command-lines",
    description: "Commands carry keys and credentials on stdin, never in their scripts or environment.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!args.type.startsWith("command:")) return;
        const command = args.props as Props;
        const fields: [string, string][] = ["create", "update", "delete"]
            .filter((field) => isSet(command, field))
            .map((field) => [field, String(command[field])]);
        if (isSet(command, "environment")) {
            const environment = Object.entries(command.environment as Props).map(([key, value]) => `${key}=${String(value)}`);
            fields.push(["environment", environment.join("\n")]);
        }
        for (const [field, text] of fields) {
            for (const [pattern, what] of secretPatterns) {
                if (pattern.test(text)) {
                    report(`The command's ${field} holds ${what}: it would sit in the host's process list or environment and in `
                        + "Pulumi's logs. Fix: pass it on stdin (as the build and release pillar commands do), or let the command fetch it.");
                }
            }
        }
    },
};

/**
 * The stack a resource is deployed to, from its URN (urn:pulumi:STACK::project::type::name). A pack
 * the engine starts through the language host gets no PULUMI_NODEJS_STACK, so `pulumi.getStack()` is
 * empty there, and @pulumi/policy 1.21 keeps only the tags of the stack the engine names.
 */
export function stackOf(urn: string): string {
    return urn.split("::")[0].replace(/^urn:pulumi:/, "");
}

/** The policies. */
export function holodeckPolicies(): ResourceValidationPolicy[] {
    const prodImageById: ResourceValidationPolicy = {
        name: "prod-image-by-id",
        description: "In prod stacks, every server boots an image by its Glance ID, never by name.",
        enforcementLevel: "mandatory",
        configSchema: {
            properties: {
                stacks: {
                    type: "array", items: { type: "string" }, default: ["prod"],
                    description: "Stacks held to images by ID (stack names as `pulumi stack` shows them, without organization/project).",
                },
            },
        },
        validateResource: forType(types.instance, (server, args, report) => {
            const current = stackOf(args.urn);
            if (!(args.getConfig<{ stacks?: string[] }>().stacks ?? ["prod"]).includes(current)) return;
            const fix = "Fix: set holodeck:imageId to the image's UUID (`openstack image list`), the one the test stack verified, and no imageName.";
            if (isSet(server, "imageName")) {
                report(`In stack ${current} the server boots image name '${String(server.imageName)}': a name can point at another image `
                    + `tomorrow, so prod would no longer run what test verified. ${fix}`);
            } else if (!isSet(server, "imageId") || !uuid.test(String(server.imageId))) {
                report(`In stack ${current} the server's imageId ${JSON.stringify(server.imageId)} is not a Glance image UUID. ${fix}`);
            }
        }),
    };

    return [
        noWorldOpenAdminPorts, saltPortsFromMinionsGroup, instancesCreateBeforeDelete, instanceHasKeyPair, appServerNamesRelease,
        prodImageById, artifactContainerPrivate, noSecretsInCommandLines,
    ];
}
