// The one module that reads stack configuration: every key is parsed and validated here, all
// problems are reported together, and the rest of the program gets typed values.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { hasCredentials, redactCredentials, redactUrl } from "./checker/redact";
import { parseSpec, readSpecText, SpecError } from "./checker/spec";
import { ImageSettings } from "./lib/dockerImage";
import { BuildSettings, serviceCommandProblem, withoutCredentials } from "./lib/holoMaker";
import { narrowestDockerPrefix } from "./lib/containerServers";
import { InputError } from "./lib/errors";
import { repoRoot } from "./lib/paths";
import { addressCount, broadestPrivatePrefix, Ipv4Cidr, parseIpv4Cidr } from "./policy/cidr";

/** The forms a release takes: the .deb always; with docker also an image that wraps it. */
export type ArtifactFormat = "deb" | "docker";
const artifactFormats: readonly ArtifactFormat[] = ["deb", "docker"];

/** The test stack builds its artifact from a commit. */
export interface BuiltRelease {
    readonly kind: "build";
    readonly build: BuildSettings;
    /**
     * The package index URL, credentials included: a Pulumi secret from the moment it is read,
     * handed to holodeck-build on stdin. Present when build.indexUrl is set.
     */
    readonly indexUrl?: pulumi.Output<string>;
    /** With artifactFormats [deb, docker]: the image to build and push too. */
    readonly image?: ImageSettings;
    /** Verified releases the stack remembers (holodeck:keepReleases): one of them is redeployed without a build. */
    readonly keepReleases: number;
}

/** The prod stack promotes the artifact another stack built and verified. */
export interface PromotedRelease {
    readonly kind: "promote";
    /** Fully qualified name of the stack whose artifact is promoted (org/project/stack). */
    readonly fromStack: string;
    /** Commit the promoted artifact must have been built from; "" accepts what that stack verified. */
    readonly pinnedCommit: string;
    /** With artifactFormats [deb, docker]: that stack must have pushed the release's image too. */
    readonly image: boolean;
}

/** Servers on OpenStack: the cloud, and where and on what the servers run. */
export interface OpenStackSettings {
    readonly kind: "openstack";
    /** Keystone v3 URL (openstack:authUrl). */
    readonly authUrl: string;
    /** Region (openstack:region); "" for the cloud's default. */
    readonly region: string;
    /** Glance image ID of every server (build minion and app servers alike, so the artifact fits). */
    readonly imageId: string;
    /** Flavor name of the app servers. */
    readonly flavor: string;
    /** Flavor name of the Salt master. */
    readonly masterFlavor: string;
    /** Flavor name of the build minion. */
    readonly buildFlavor: string;
    /** Existing network ID; "" creates a network, subnet and router. */
    readonly networkId: string;
    /** External network for floating IPs and the router's gateway. */
    readonly externalNetwork: string;
    /** The only CIDR SSH (22) is open to. */
    readonly adminCidr: string;
}

/** Servers as containers of this machine's Docker engine that boot systemd and cloud-init. */
export interface DockerSettings {
    readonly kind: "docker";
    /** Image every server container boots (scripts/server-image.sh makes it). */
    readonly serverImage: string;
}

/** What every substrate shares. */
export interface InfraSettings {
    /** CIDR of the network created for the stack (OpenStack: when no networkId is given). */
    readonly networkCidr: string;
    /** Login user of the servers' image (debian on Debian cloud images, ubuntu on Ubuntu's). */
    readonly sshUser: string;
    /** Salt LTS major version the master and minions run, e.g. "3008". */
    readonly saltVersion: string;
}

/** The app servers of a release. */
export interface AppSettings {
    /** TCP port the app serves HTTP (and /health) on. */
    readonly port: number;
    /** CIDR allowed on the app port directly; "" allows only the load balancer and the health gate. */
    readonly allowedCidr: string;
    /** Servers per release. */
    readonly serverCount: number;
    /** Put an Octavia load balancer in front of the servers. */
    readonly loadBalancer: boolean;
    /** How long the health gate waits for every server's /health, in seconds. */
    readonly healthTimeoutSeconds: number;
    /** Servers of a new release tried beside the live one before the rest are made (0: no canary). */
    readonly canary: number;
    /** How long the canary serves beside the live release before its verdict, in seconds. */
    readonly canarySoakSeconds: number;
    /** The app's configuration per environment: [app] of /etc/holodeck/<app>/config.ini. */
    readonly config: Readonly<Record<string, string>>;
    /** The app's secrets: [secrets] of that file; a Pulumi secret from the moment it is read. */
    readonly secrets: pulumi.Output<Record<string, string>>;
    /** The functional HTTP checks every release must pass (checker/README.md), if any. */
    readonly checks?: CheckFile;
}

/** A check file, read and validated. */
export interface CheckFile {
    /** Its path, as configured (relative to the project). */
    readonly file: string;
    /** Its text, sent to the master as it is. */
    readonly text: string;
}

/** The placeholders the program fills in a check file: VERSION is what /health reports. */
const checkVariables = ["VERSION"] as const;

/** The substrates servers can run on (holodeck:substrate). */
export const substrates = ["openstack", "docker"] as const;

export interface HolodeckConfig {
    readonly release: BuiltRelease | PromotedRelease;
    /** Where the servers, network, store and balancer are (the one thing that differs per substrate). */
    readonly substrate: OpenStackSettings | DockerSettings;
    readonly infra: InfraSettings;
    readonly app: AppSettings;
}

/** Raw values as stack configuration holds them: strings, or JSON for arrays. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

/** Every problem of a stack's configuration, printed by a real CLI without a stack trace. */
export class ConfigError extends InputError {
    constructor(readonly problems: readonly string[]) {
        super(`invalid stack configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

const namespace = "holodeck";
/** Line breaks of any kind (YAML and Python count U+0085, U+2028 and U+2029 too), NUL and other control characters. */
// eslint-disable-next-line no-control-regex
const controlCharacter = /[\u0000-\u001f\u007f\u0085\u2028\u2029]/;
/** Names passed to OpenStack and the registry as they are. */
const namesKeys = ["flavor", "masterFlavor", "buildFlavor", "externalNetwork", "openstack:region", "registryUsername"];
const gitUrl = /^(https:\/\/[^\s/@]+(:\d+)?\/\S+|ssh:\/\/[^\s@/]+@[^\s/]+\/\S+|[\w.-]+@[\w.-]+:\S+)$/;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const maxServers = 20;

/** Reads raw values and collects every problem, each naming its key. */
class Reader {
    readonly problems: string[] = [];
    private readonly refusedNames = new Set<string>();

    constructor(private readonly raw: RawConfig) {}

    /** Records a problem; a credential in a URL it quotes is never shown. */
    problem(key: string, text: string): void {
        this.problems.push(redactCredentials(`${key.includes(":") ? key : `${namespace}:${key}`} ${text}`));
    }

    text(key: string, fallback = ""): string {
        const value = (this.raw[key] ?? fallback).trim();
        if (namesKeys.includes(key) && controlCharacter.test(value) && !this.refusedNames.has(key)) {
            this.refusedNames.add(key);
            this.problem(key, `${JSON.stringify(value)} holds a control character (a line break, tab or NUL): give the name on one line of plain text`);
        }
        return value;
    }

    required(key: string, example: string): string {
        const value = this.text(key);
        if (!value) this.problem(key, `is required: set it with \`pulumi config set ${key.includes(":") ? key : `${namespace}:${key}`} ${example}\``);
        return value;
    }

    flag(key: string, fallback: boolean): boolean {
        const value = this.text(key, String(fallback));
        if (value !== "true" && value !== "false") this.problem(key, `'${value}' must be true or false`);
        return value === "true";
    }

    /** A whole number within bounds; the fallback when it is not (its problem recorded), so no other check trips on it. */
    integer(key: string, fallback: number, min: number, max: number, why: string): number {
        const value = this.text(key, String(fallback));
        if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
            this.problem(key, `'${value}' must be a whole number from ${min} to ${max} (${why})`);
            return fallback;
        }
        return Number(value);
    }

    /**
     * A map of INI settings (stack config: `holodeck:appConfig: {greeting: Hello}`). Problems name
     * the keys, never the values: they may be secrets.
     */
    settings(key: string, required: boolean): Record<string, string> {
        const raw = this.text(key);
        const example = `pulumi config set --path '${namespace}:${key}.greeting' 'Hello'`;
        if (!raw) {
            if (required) this.problem(key, `is required: the holodeck Salt state renders /etc/holodeck/<app>/config.ini from it (pillar holodeck:config); set it with \`${example}\``);
            return {};
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(raw);
        } catch {
            parsed = undefined;
        }
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
            this.problem(key, `must be a map of settings, e.g. \`${example}\``);
            return {};
        }
        const settings: Record<string, string> = {};
        for (const [name, value] of Object.entries(parsed)) {
            if (!/^[a-z][a-z0-9_]*$/.test(name)) this.problem(key, `key '${name}' must be lowercase letters, digits and '_' (an INI key)`);
            else if (!["string", "number", "boolean"].includes(typeof value) || controlCharacter.test(String(value))) {
                this.problem(key, `value of '${name}' must be one line of text, without control characters`);
            } else settings[name] = String(value);
        }
        return settings;
    }

    /** An IPv4 CIDR in canonical form (policy/cidr.ts); undefined when unset or refused. */
    cidr(key: string, fallback = ""): Ipv4Cidr | undefined {
        const value = this.text(key, fallback);
        if (!value) return undefined;
        const parsed = parseIpv4Cidr(value);
        if (parsed.problem !== undefined) this.problem(key, `'${value}' ${parsed.problem}`);
        return parsed.cidr;
    }
}

const isDirectory = (dir: string) => fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false;

const cidrText = (cidr: Ipv4Cidr | undefined) => (cidr ? `${cidr.address}/${cidr.prefixLength}` : "");

/** Validates raw configuration values (keys without the "holodeck:" prefix). */
export function parseConfig(raw: RawConfig): HolodeckConfig {
    const read = new Reader(raw);
    const problem = read.problem.bind(read);
    const text = read.text.bind(read);

    const source = text("artifactSource", "build");
    if (source !== "build" && source !== "promote") problem("artifactSource", `'${source}' must be build (the test stack) or promote (prod)`);

    const commit = text("commit").toLowerCase();
    if (commit && !/^[0-9a-f]{40}$/.test(commit)) {
        problem("commit", `'${commit}' is not a full 40-hex commit SHA: branches, tags and short SHAs are mutable or ambiguous; use \`git rev-parse ${commit}\``);
    } else if (/^0+$/.test(commit)) problem("commit", "is still the placeholder of the stack file: set it to the full SHA of the commit to ship (`git rev-parse HEAD`)");

    const kind = text("substrate", "openstack");
    if (!(substrates as readonly string[]).includes(kind)) {
        problem("substrate", `'${kind}' must be openstack (servers on an OpenStack cloud) or docker (containers of this machine's Docker engine)`);
    }
    const { indexUrlSecret, ...build } = parseBuild(read, kind === "docker");
    const formats = parseFormats(read);
    const image = formats.includes("docker") ? parseImage(read, source === "build") : undefined;
    if (kind === "docker" && formats.includes("docker")) {
        problem("artifactFormats", "cannot have docker on the docker substrate: the build minion builds images with a Docker engine of its own, which a server container cannot run; use [deb]");
    }
    if (source === "build") {
        if (!build.repo) problem("appRepo", "is required to build: set it with `pulumi config set holodeck:appRepo https://host/org/app.git`");
        if (!commit) problem("commit", "is required to build: set it to the full SHA of the commit to ship (`git rev-parse HEAD`)");
        if (!build.service) {
            problem("appService", "is required to build: the holodeck Salt state runs the app as the package's systemd service; set it to its console script and arguments, e.g. `myapp --host 0.0.0.0 --port 8000`");
        }
    }
    const keepReleases = read.integer("keepReleases", 0, 0, 50, "verified releases to keep for a rollback without a build");
    if (source === "promote" && keepReleases > 0) {
        problem("keepReleases", "applies where the stack builds: a promoting stack deploys what its source verified (roll back there, then promote); remove it");
    }
    if (keepReleases > 0 && formats.includes("docker")) {
        problem("keepReleases", "cannot go with artifactFormats docker yet: a kept release is redeployed from its .deb alone, and its image would be built anew; use [deb] or keepReleases 0");
    }
    const fromStack = text("promoteFrom", "organization/holodeck/test");
    if (!/^[\w.-]+\/[\w.-]+\/[\w.-]+$/.test(fromStack) || fromStack.split("/").some((part) => /^\.+$/.test(part))) problem("promoteFrom", `'${fromStack}' must name a stack as organization/project/stack`);

    const substrate = kind === "docker" ? parseDocker(read) : parseOpenStack(read);
    const parsedNetwork = read.cidr("networkCidr", "10.80.0.0/24");
    const networkCidr = cidrText(parsedNetwork);
    if (substrate.kind === "docker" && parsedNetwork && parsedNetwork.prefixLength > narrowestDockerPrefix) {
        problem("networkCidr", `'${networkCidr}' is too small for the docker substrate (its fixed servers, and app servers in the upper half): use a /${narrowestDockerPrefix} or wider`);
    }
    const allowedCidr = cidrText(read.cidr("appCidr"));
    const saltVersion = text("saltVersion", "3008");
    if (!/^3\d{3}$/.test(saltVersion)) problem("saltVersion", `'${saltVersion}' must be a Salt major version such as 3008 (LTS)`);
    const sshUser = text("sshUser", "debian");
    if (!/^[a-z_][a-z0-9_-]*$/.test(sshUser)) problem("sshUser", `'${sshUser}' is not a user name`);

    const app: AppSettings = {
        port: read.integer("appPort", 8000, 1024, 65535, "an unprivileged port, not 4505/4506"),
        allowedCidr,
        serverCount: read.integer("serverCount", 2, 1, maxServers, "servers per release"),
        loadBalancer: read.flag("loadBalancer", false),
        healthTimeoutSeconds: read.integer("healthTimeoutSeconds", 600, 30, 3600, "seconds the health gate waits"),
        canary: read.integer("canary", 0, 0, maxServers - 1, "servers of a release tried first, beside the live one"),
        canarySoakSeconds: read.integer("canarySoakSeconds", 60, 5, 3600, "seconds the canary serves before its verdict"),
        config: read.settings("appConfig", true),
        secrets: pulumi.secret(read.settings("appSecrets", false)),
    };
    if (app.port === 4505 || app.port === 4506) problem("appPort", `${app.port} is Salt's port: pick another`);
    if (app.canary > 0) {
        if (app.canary >= app.serverCount) {
            problem("canary", `${app.canary} must be fewer than serverCount (${app.serverCount}): the canary is the first servers of a release, tried before the rest`);
        }
        if (!app.loadBalancer) problem("canary", "needs loadBalancer true: the canary is tried beside the live release behind the balancer");
        if (substrate.kind === "openstack") {
            problem("canary", "is not available on openstack yet: a member added to Octavia's live pool stays when the update fails, and only the Octavia API could withdraw a failed canary; set it to 0");
        }
    }
    const network = substrate.kind === "openstack" && substrate.networkId ? undefined : parsedNetwork;
    if (network) {
        // Two releases' servers side by side during a rollout, the master, the build minion and the
        // load balancer; Neutron keeps the network, broadcast, gateway and DHCP addresses.
        const needed = 2 * app.serverCount + 4;
        const usable = 2 ** (32 - network.prefixLength) - 4;
        if (network.prefixLength < broadestPrivatePrefix) {
            problem("networkCidr", `'${networkCidr}' is ${addressCount(network.prefixLength)} addresses, not a private subnet: use a /${broadestPrivatePrefix} to /28 of a private range (default 10.80.0.0/24)`);
        } else if (usable < needed && Number.isInteger(app.serverCount) && app.serverCount <= maxServers) {
            problem("networkCidr", `'${networkCidr}' leaves ${Math.max(usable, 0)} addresses for servers, but ${needed} are needed (2 × serverCount ${app.serverCount} during a rollout, `
                + "the master, the build minion, the load balancer): use a larger subnet (a smaller prefix length), e.g. /24");
        }
    }
    const checks = readCheckFile(read, source === "build");
    // The health gate, security groups and load balancer use appPort: the service must listen there.
    const servicePort = /--port[= ](\d+)/.exec(build.service)?.[1];
    if (servicePort && Number(servicePort) !== app.port) {
        problem("appService", `runs the app on port ${servicePort}, but holodeck:appPort is ${app.port}: make them agree`);
    }

    if (read.problems.length > 0) throw new ConfigError(read.problems);
    return {
        release: source === "promote"
            ? { kind: "promote", fromStack, pinnedCommit: commit, image: formats.includes("docker") }
            : { kind: "build", build: { ...build, commit }, ...(indexUrlSecret ? { indexUrl: indexUrlSecret } : {}), ...(image ? { image } : {}), keepReleases },
        substrate,
        infra: { networkCidr, sshUser, saltVersion },
        app: checks ? { ...app, checks } : app,
    };
}

/** Keys that only the openstack substrate reads. */
const openStackKeys = ["imageId", "flavor", "masterFlavor", "buildFlavor", "networkId", "externalNetwork", "adminCidr", "openstack:authUrl", "openstack:region"];

function parseOpenStack(read: Reader): OpenStackSettings {
    const problem = read.problem.bind(read);
    const text = read.text.bind(read);
    const imageId = read.required("imageId", "<glance image UUID>");
    if (imageId && !uuid.test(imageId)) problem("imageId", `'${imageId}' is not an image ID: use the UUID (\`openstack image list\`), not a name, so every server runs the same image`);
    else if (/^[0-]+$/.test(imageId)) problem("imageId", "is still the placeholder of the stack file: set it to your image's UUID (`openstack image list`)");
    const flavor = read.required("flavor", "<flavor name>");
    const networkId = text("networkId");
    if (networkId && !uuid.test(networkId)) problem("networkId", `'${networkId}' is not a network ID: use the UUID (\`openstack network list\`), or leave it empty to create a network`);
    const admin = read.required("adminCidr", "203.0.113.0/24") ? read.cidr("adminCidr") : undefined;
    const adminCidr = cidrText(admin);
    if (admin?.prefixLength === 0) problem("adminCidr", `'${adminCidr}' would open SSH to the whole internet: use your office or bastion CIDR`);
    else if (admin && admin.prefixLength < broadestPrivatePrefix) {
        problem("adminCidr", `'${adminCidr}' would open SSH to ${addressCount(admin.prefixLength)} addresses, much of the internet: use your office or bastion CIDR (a /${broadestPrivatePrefix} or narrower)`);
    }
    const authUrl = read.required("openstack:authUrl", "https://keystone.api.sjc3.rackspacecloud.com/v3");
    if (authUrl && hasCredentials(authUrl)) {
        problem("openstack:authUrl", `'${redactUrl(authUrl)}' carries credentials: remove them, and set the password as a secret (\`pulumi config set --secret openstack:password\`)`);
    } else if (authUrl && !/^https:\/\/\S+\/v3\/?$/.test(authUrl)) {
        problem("openstack:authUrl", `'${redactUrl(authUrl)}' must be the https URL of a Keystone v3 endpoint, ending in /v3`);
    }
    return {
        kind: "openstack", authUrl: authUrl.replace(/\/$/, ""), region: text("openstack:region"), imageId: imageId.toLowerCase(), flavor,
        masterFlavor: text("masterFlavor") || flavor, buildFlavor: text("buildFlavor") || flavor, networkId,
        externalNetwork: text("externalNetwork") || "PUBLICNET", adminCidr,
    };
}

function parseDocker(read: Reader): DockerSettings {
    for (const key of openStackKeys.filter((key) => read.text(key))) {
        read.problem(key, "is for the openstack substrate, and this stack runs on docker (holodeck:substrate): remove it");
    }
    const serverImage = read.text("serverImage", "holodeck/server:bookworm");
    if (!/^[a-z0-9][a-z0-9._/:@-]*$/.test(serverImage)) read.problem("serverImage", `'${serverImage}' is not an image reference (e.g. holodeck/server:bookworm)`);
    return { kind: "docker", serverImage };
}

/** The check file: required where the stack builds (its verdict is what prod promotes). */
function readCheckFile(read: Reader, required: boolean): CheckFile | undefined {
    const file = read.text("checkFile");
    if (!file) {
        if (required) {
            read.problem("checkFile", "is required to build: the test stack verifies every release with these HTTP checks, and prod promotes only what passed; "
                + "set it with `pulumi config set holodeck:checkFile examples/hello/holodeck-checks.yaml` (see checker/README.md)");
        }
        return undefined;
    }
    let text: string;
    try {
        text = readSpecText(path.resolve(repoRoot, file));
    } catch (error) {
        read.problem("checkFile", `'${file}' cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): give a path relative to the project (${repoRoot})`);
        return undefined;
    }
    try {
        // The values come with the release; any placeholder other than these is a mistake now.
        parseSpec(text, file, Object.fromEntries(checkVariables.map((name) => [name, "0"])));
    } catch (error) {
        if (!(error instanceof SpecError)) throw error;
        for (const problem of error.problems) read.problem("checkFile", `is not a valid check file: ${problem}`);
        return undefined;
    }
    return { file, text };
}

function parseFormats(read: Reader): ArtifactFormat[] {
    const raw = read.text("artifactFormats", '["deb"]');
    let formats: unknown;
    try {
        formats = JSON.parse(raw);
    } catch {
        formats = undefined;
    }
    if (!Array.isArray(formats) || !formats.every((format) => artifactFormats.includes(format))) {
        read.problem("artifactFormats", `'${raw}' must be a list of ${artifactFormats.join(" and ")}, e.g. [deb, docker]`);
        return ["deb"];
    }
    if (!formats.includes("deb")) read.problem("artifactFormats", "must include deb: the servers install the .deb, and the image wraps that very .deb");
    return formats;
}

/** The image settings; where the image is not built (prod) they must be unset. */
function parseImage(read: Reader, built: boolean): ImageSettings | undefined {
    const text = read.text.bind(read);
    if (!built) {
        for (const key of ["imageRepository", "imageBase", "registryUsername", "registryPassword"].filter((key) => text(key))) {
            read.problem(key, "is for the stack that builds the image: a promoting stack takes the other stack's image by its digest; remove it");
        }
        return undefined;
    }
    const settings = { repository: text("imageRepository"), baseImage: text("imageBase"), username: text("registryUsername") };
    const password = text("registryPassword");
    if (!settings.repository) {
        read.problem("imageRepository", "is required when artifactFormats has docker: set it with `pulumi config set holodeck:imageRepository registry.example.com/team/app`");
    } else if (/:[^/]*$/.test(settings.repository.replace(/^[^/]*\//, "")) || settings.repository.includes("@")) {
        read.problem("imageRepository", `'${settings.repository}' must name a repository without a tag or digest: Holodeck tags each release with its version`);
    } else if (!/^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(settings.repository)) {
        read.problem("imageRepository", `'${settings.repository}' is not a repository name (lowercase, e.g. registry.example.com/team/app or team/app)`);
    }
    if (settings.baseImage && !/^[a-z0-9][a-z0-9._/:@-]*$/.test(settings.baseImage)) {
        read.problem("imageBase", `'${settings.baseImage}' is not an image reference (e.g. debian:12-slim, or pinned: debian:12-slim@sha256:...)`);
    }
    if (Boolean(settings.username) !== Boolean(password)) {
        read.problem(settings.username ? "registryPassword" : "registryUsername", "must be set together with "
            + (settings.username ? "holodeck:registryUsername: `pulumi config set --secret holodeck:registryPassword`" : "holodeck:registryPassword: `pulumi config set holodeck:registryUsername USER`"));
    }
    return { ...settings, password: pulumi.secret(password) };
}

/**
 * The build settings (all optional here: the test stack requires appRepo and commit above). On
 * the docker substrate the repository may also be a directory of this machine (a path or a
 * file:/// URL): the build minion sees it read-only at the same path.
 */
function parseBuild(read: Reader, localRepo: boolean): Omit<BuildSettings, "commit"> & { indexUrlSecret?: pulumi.Output<string> } {
    const problem = read.problem.bind(read);
    const text = read.text.bind(read);

    const configuredRepo = text("appRepo");
    // A relative path names a directory of this machine, relative to the project (docker only).
    const relative = localRepo && /^[\w.][\w./+-]*$/.test(configuredRepo) && !gitUrl.test(configuredRepo);
    const repo = relative ? path.join(repoRoot, configuredRepo) : configuredRepo;
    if (repo && hasCredentials(repo)) {
        problem("appRepo", `'${redactUrl(repo)}' carries credentials: they would be printed, kept in the stack's state and put on the build minion's `
            + "command line. Remove them: the build minion clones without credentials (a public https URL, or an ssh URL)");
    } else if (repo && localRepo && /^(\/|file:\/\/\/)/.test(repo)) {
        if (!/^(\/|file:\/\/\/)[\w./+-]*$/.test(repo) || `${repo}/`.includes("/../") || (!relative && `${repo}/`.includes("/./"))) {
            problem("appRepo", `'${configuredRepo}' must be a normalised path of a git repository on this machine (letters, digits and ._+-/), `
                + "absolute or relative to the project, e.g. /srv/git/app, file:///srv/git/app or .holodeck/sample-app");
        } else if (!isDirectory(repo.replace(/^file:\/\//, ""))) {
            problem("appRepo", `'${configuredRepo}' is not a directory of this machine${relative ? ` (${repo})` : ""}: give the path of the app's git repository`
                + (configuredRepo === ".holodeck/sample-app" ? " (`npm run demo` makes this one)" : ""));
        }
    } else if (repo && !gitUrl.test(repo)) {
        problem("appRepo", `'${redactUrl(repo)}' is not an https or ssh git URL (https://host/org/app.git, git@host:org/app.git)${localRepo ? ", nor a path of this machine (absolute, file:/// or relative to the project)" : ""}`);
    }

    const subdir = text("appSubdir");
    if (subdir.startsWith("/") || `/${subdir}/`.includes("/../")) problem("appSubdir", `'${subdir}' must be a relative path inside the repository, without '..'`);

    const packageName = text("appName");
    if (packageName && !/^[a-z0-9][a-z0-9+.-]+$/.test(packageName)) {
        problem("appName", `'${packageName}' is not a valid Debian package name: use lowercase letters, digits, '+', '-', '.'`);
    }

    const prefix = text("venvPrefix");
    if (prefix && !/^\/(opt|srv)(\/[A-Za-z0-9_+-][A-Za-z0-9._+-]*)+$/.test(prefix)) {
        problem("venvPrefix", `'${prefix}' must be an absolute, normalised path below /opt or /srv (e.g. /opt/venvs/myapp)`);
    }

    const python = text("python", "/usr/bin/python3");
    if (!/^\/\S+$/.test(python)) problem("python", `'${python}' must be the absolute path of the distribution's interpreter (e.g. /usr/bin/python3)`);

    const service = text("appService");
    // The unit's ExecStart= line: what systemd would refuse or rewrite is refused here, not on the servers.
    const systemdProblem = service && serviceCommandProblem(service);
    if (service && !/^[A-Za-z0-9_.+-]+( [^\n]*)?$/.test(service)) {
        problem("appService", `'${service}' must start with the name of a console script of the app (e.g. 'myapp --port 8000') and fit on one line`);
    } else if (systemdProblem) {
        problem("appService", `'${service}' ${systemdProblem}`);
    }

    // The index URL may hold credentials: a secret from here on, and never shown with them.
    const indexUrl = text("pipIndexUrl");
    if (indexUrl && !/^(https?|file):\/\/\S+$/.test(indexUrl)) problem("pipIndexUrl", `'${redactUrl(indexUrl)}' must be an http(s):// or file:// URL`);

    let findLinks: string[] = [];
    const findLinksRaw = text("pipFindLinks", "[]");
    try {
        const parsed: unknown = JSON.parse(findLinksRaw);
        if (!Array.isArray(parsed) || !parsed.every((entry) => typeof entry === "string" && entry.trim() !== "")) throw new Error();
        findLinks = parsed;
    } catch {
        problem("pipFindLinks", `'${redactUrl(findLinksRaw)}' must be a list of wheel directories or URLs, e.g. ["https://wheels.example.com/"]`);
    }
    // On docker, the build minion sees these directories of this machine, mounted read-only.
    for (const links of localRepo ? findLinks.filter((links) => links.startsWith("/") && !isDirectory(links)) : []) {
        problem("pipFindLinks", `'${links}' is not a directory of this machine, which the build minion's container would see it from: create it, or remove it`);
    }
    for (const links of findLinks.filter(hasCredentials)) {
        problem("pipFindLinks", `'${redactUrl(links)}' holds credentials, which would be in the build command: serve those wheels from the package index, `
            + "whose URL may carry them as a secret (`pulumi config set --secret holodeck:pipIndexUrl` with the user and password in the URL)");
    }

    return {
        repo, subdir, packageName, prefix, python, service, indexUrl: withoutCredentials(indexUrl), findLinks, withPip: read.flag("withPip", false),
        ...(indexUrl ? { indexUrlSecret: pulumi.secret(indexUrl) } : {}),
    };
}

const keys = [
    "artifactSource", "promoteFrom", "appRepo", "commit", "appSubdir", "appName", "venvPrefix", "python", "appService",
    "pipFindLinks", "withPip", "substrate", "serverImage", "imageId", "flavor", "masterFlavor", "buildFlavor", "networkId", "networkCidr",
    "externalNetwork", "adminCidr", "sshUser", "saltVersion", "appPort", "appCidr", "serverCount", "loadBalancer", "keepReleases",
    "healthTimeoutSeconds", "canary", "canarySoakSeconds", "checkFile", "artifactFormats", "imageRepository", "imageBase", "registryUsername",
];
const providerKeys = ["authUrl", "region"];
/**
 * Read as raw text: maps, which a Pulumi.yaml schema cannot type, and secrets (without
 * Config.get's warning for secrets: parseConfig wraps them).
 */
const rawKeys = ["appConfig", "appSecrets", "registryPassword", "pipIndexUrl"];

/** Reads and validates this stack's configuration (and the OpenStack provider's keys it uses). */
export function loadConfig(): HolodeckConfig {
    const config = new pulumi.Config(namespace);
    const provider = new pulumi.Config("openstack");
    return parseConfig(Object.fromEntries([
        ...keys.map((key) => [key, config.get(key)]),
        ...rawKeys.map((key) => [key, pulumi.runtime.getConfig(`${namespace}:${key}`)]),
        ...providerKeys.map((key) => [`openstack:${key}`, provider.get(key)]),
    ]));
}
