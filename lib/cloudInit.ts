// cloud-init user-data for Holodeck's servers: the Salt master, the app servers (Salt minions that
// apply their states at first boot) and the build minion. Pure functions from plain data to text.
//
// Order at boot: write_files (keys, Salt config, the metadata guard) runs in cloud-init's init
// stage; `packages:` (ca-certificates, curl, gpg, nftables, from the distribution), then deferred
// write_files (the Salt apt source and pin), then runcmd run in the final stage. runcmd first
// starts the metadata guard, then fetches and checks the Salt repository's key, then installs Salt.
import { isIPv4 } from "node:net";
import * as path from "node:path";
import { stringify } from "yaml";
import { shellQuote } from "./holoMaker";
import { masterFinger, saltRelease } from "./salt";

/** Nova refuses user-data longer than this many bytes once base64-encoded (ServerUserDataTooLarge). */
export const novaUserDataLimit = 65535;

/** What the build minion installs when not told otherwise: HoloMaker's needs. */
export const defaultBuildPackages: readonly string[] = [
    "git", "python3", "python3-venv", "python3-pip", "python3-pip-whl", "dpkg-dev", "util-linux", "curl", "ca-certificates",
];

/** Inputs of {@link renderSaltMasterUserData}. */
export interface SaltMasterUserDataArgs {
    /** Salt major version the packages are pinned to (default `saltRelease.major`). */
    readonly saltMajor?: string;
    /** Private IPv4 address the master binds its ports 4505/4506 to. */
    readonly interfaceAddress: string;
    /** The master's RSA private key, PKCS#1 PEM, written as master.pem. */
    readonly masterPrivateKeyPem: string;
    /** The master's RSA public key, SPKI PEM, written as master.pub. */
    readonly masterPublicKeyPem: string;
    /** State directories of the base environment (default ["/srv/salt"]). */
    readonly fileRoots?: readonly string[];
    /** Pillar directories of the base environment (default ["/srv/pillar"]). */
    readonly pillarRoots?: readonly string[];
}

/** Inputs of {@link renderAppServerUserData}. */
export interface AppServerUserDataArgs {
    /** Salt major version the packages are pinned to (default `saltRelease.major`). */
    readonly saltMajor?: string;
    /** Address or DNS name of the Salt master. */
    readonly masterAddress: string;
    /** Minion id, unique per server generation (a reused id inherits cached data: CVE-2016-9639). */
    readonly minionId: string;
    /** The minion's RSA private key, PKCS#1 PEM, written as minion.pem. */
    readonly minionPrivateKeyPem: string;
    /** The minion's RSA public key, SPKI PEM: the very text the master holds under minions/<id>. */
    readonly minionPublicKeyPem: string;
    /** The master's public key, pre-seeded as minion_master.pub. */
    readonly masterPublicKeyPem: string;
    /** The minion's `master_finger`: must equal `masterFinger(masterPublicKeyPem)`. */
    readonly masterFinger: string;
    /** Grains the states target by (app, release, stack, role, ...). */
    readonly grains: Readonly<Record<string, string>>;
}

/** Inputs of {@link renderBuildMinionUserData}. */
export interface BuildMinionUserDataArgs {
    /** Debian packages to install (default {@link defaultBuildPackages}). */
    readonly packages?: readonly string[];
    /** Also install the distribution's Docker engine, to build the release's image (default false). */
    readonly docker?: boolean;
}

interface WriteFile {
    readonly path: string;
    readonly content: string;
    readonly owner: string;
    readonly permissions: string;
    readonly defer?: boolean;
}

// What the Salt install steps and the metadata guard need from the distribution.
const saltPrerequisites = ["ca-certificates", "curl", "gpg", "nftables"];

/**
 * nftables rules that let only root reach the cloud's metadata service: it serves this server's
 * user data, private keys included, to any local process that asks (the app too). Loading the
 * file twice leaves one table.
 */
export const metadataGuardRules = `#!/usr/sbin/nft -f
table inet holodeck_metadata_guard
delete table inet holodeck_metadata_guard
table inet holodeck_metadata_guard {
    chain output {
        type filter hook output priority filter; policy accept;
        ip daddr 169.254.169.254 meta skuid != 0 reject
        ip6 daddr fe80::a9fe:a9fe meta skuid != 0 reject
    }
}
`;
export const metadataGuardRulesPath = "/etc/holodeck/metadata-guard.nft";
/** Loads the guard at every boot, before the network is up. */
export const metadataGuardUnit = `[Unit]
Description=Holodeck: only root may reach the cloud metadata service
DefaultDependencies=no
Before=network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/nft -f ${metadataGuardRulesPath}

[Install]
WantedBy=sysinit.target
`;
const metadataGuardUnitPath = "/etc/systemd/system/holodeck-metadata-guard.service";
const masterPki = "/etc/salt/pki/master";
const minionPki = "/etc/salt/pki/minion";
const downloadedKey = "/run/salt-archive-key";
// The master may be down or not hold this minion's key yet: try for about five minutes.
const stateApplyAttempts = 10;
const stateApplyPause = 30;

/**
 * systemd drop-in for salt-master: it binds the fixed private address, so it starts once the
 * network is online, and comes back by itself when it fails (a reboot racing DHCP, a crash).
 */
export const saltMasterDropIn = `[Unit]
After=network-online.target
Wants=network-online.target

[Service]
Restart=on-failure
RestartSec=5s
`;
export const saltMasterDropInPath = "/etc/systemd/system/salt-master.service.d/holodeck.conf";

/**
 * User-data of the Salt master: its keys, a locked-down configuration (no auto-accept, no open
 * mode, no publisher ACLs, no file uploads from minions) bound to `interfaceAddress`, then Salt
 * from the pinned repository and the state and pillar directories, owned by user salt.
 */
export function renderSaltMasterUserData(args: SaltMasterUserDataArgs): string {
    const fileRoots = args.fileRoots ?? ["/srv/salt"];
    const pillarRoots = args.pillarRoots ?? ["/srv/pillar"];
    check(isIPv4(args.interfaceAddress) && args.interfaceAddress !== "0.0.0.0",
        `interfaceAddress must be the master's private IPv4 address, not ${JSON.stringify(args.interfaceAddress)}`);
    for (const [name, roots] of [["fileRoots", fileRoots], ["pillarRoots", pillarRoots]] as const) {
        check(roots.length > 0 && roots.every((root) => path.posix.isAbsolute(root)), `${name} must be absolute paths`);
    }
    const config = {
        interface: args.interfaceAddress,
        user: "salt",
        auto_accept: false,
        open_mode: false,
        publisher_acl: {},
        file_recv: false,
        file_roots: { base: [...fileRoots] },
        pillar_roots: { base: [...pillarRoots] },
    };
    return cloudConfig({
        package_update: true,
        packages: [...saltPrerequisites],
        write_files: [
            // Written before salt-master is installed: its postinst chowns the pki dir to user salt.
            writeFile(`${masterPki}/master.pem`, args.masterPrivateKeyPem, "0400"),
            writeFile(`${masterPki}/master.pub`, args.masterPublicKeyPem, "0644"),
            writeFile("/etc/salt/master.d/holodeck.conf", yaml(config), "0644"),
            writeFile(saltMasterDropInPath, saltMasterDropIn, "0644"),
            ...metadataGuardFiles(),
            ...saltRepositoryFiles(args.saltMajor),
        ],
        runcmd: [
            ...installSalt("salt-master"),
            `install -d -o salt -g salt -m 0750 ${[...fileRoots, ...pillarRoots].map(shellQuote).join(" ")}`,
            "systemctl enable --now salt-master",
        ],
    });
}

/**
 * User-data of an app server: its minion keys, the master's public key and fingerprint pinned, its
 * id and grains, then Salt from the pinned repository, and last one `state.apply`, retried while
 * the master has not yet accepted the key.
 */
export function renderAppServerUserData(args: AppServerUserDataArgs): string {
    // The id names a file on the master (minions/<id>).
    check(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(args.minionId),
        `minionId must be letters, digits, ".", "_", "+" or "-", not ${JSON.stringify(args.minionId)}`);
    check(args.masterFinger === masterFinger(args.masterPublicKeyPem), "masterFinger is not the fingerprint of masterPublicKeyPem");
    const config = {
        master: args.masterAddress,
        id: args.minionId,
        master_finger: args.masterFinger,
        grains: Object.fromEntries(Object.entries(args.grains).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    };
    return cloudConfig({
        package_update: true,
        packages: [...saltPrerequisites],
        write_files: [
            writeFile(`${minionPki}/minion.pem`, args.minionPrivateKeyPem, "0400"),
            writeFile(`${minionPki}/minion.pub`, args.minionPublicKeyPem, "0644"),
            writeFile(`${minionPki}/minion_master.pub`, args.masterPublicKeyPem, "0644"),
            writeFile("/etc/salt/minion.d/holodeck.conf", yaml(config), "0644"),
            writeFile("/etc/salt/minion_id", `${args.minionId}\n`, "0644"),
            ...metadataGuardFiles(),
            ...saltRepositoryFiles(args.saltMajor),
        ],
        runcmd: [
            ...installSalt("salt-minion"),
            "systemctl enable --now salt-minion",
            // salt-call exits 2 while the master has not accepted the key.
            `attempt=1; until salt-call --retcode-passthrough state.apply; do [ "$attempt" -lt ${stateApplyAttempts} ] || exit 1; ` +
                `attempt=$((attempt + 1)); sleep ${stateApplyPause}; done`,
        ],
    });
}

/** User-data of the build minion: the packages HoloMaker needs, from the distribution. */
export function renderBuildMinionUserData(args: BuildMinionUserDataArgs = {}): string {
    const packages = [...(args.packages ?? defaultBuildPackages)];
    if (!args.docker) return cloudConfig({ package_update: true, packages });
    return cloudConfig({
        package_update: true,
        packages: [...packages, "docker.io"],
        // Docker 23 and later (Ubuntu's docker.io) builds with BuildKit only through the buildx
        // plugin, a package of its own; Debian 12's 20.10 has BuildKit built in and no such package.
        runcmd: [dockerBuildxInstall],
    });
}

/** Installs docker-buildx where the distribution has it. */
export const dockerBuildxInstall = "if apt-cache show docker-buildx >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get install -y docker-buildx; fi";

function check(ok: boolean, problem: string): void {
    if (!ok) throw new Error(`cloud-init user-data: ${problem}`);
}

// cloud-init and Salt read YAML 1.1 (PyYAML): emitting 1.1 quotes what it would take for a
// boolean, number or date ("yes", "on", "1_000", "2026-01-02"); no folding keeps lines as given.
function yaml(value: unknown): string {
    return stringify(value, { version: "1.1", lineWidth: 0, blockQuote: "literal", aliasDuplicateObjects: false });
}

function cloudConfig(document: object): string {
    const text = `#cloud-config\n${yaml(document)}`;
    const encodedLength = Math.ceil(Buffer.byteLength(text) / 3) * 4;
    check(encodedLength <= novaUserDataLimit, `${encodedLength} bytes once base64-encoded, Nova takes at most ${novaUserDataLimit}`);
    return text;
}

function writeFile(filePath: string, content: string, permissions: string, defer = false): WriteFile {
    return { path: filePath, content, owner: "root:root", permissions, ...(defer ? { defer } : {}) };
}

function metadataGuardFiles(): WriteFile[] {
    return [writeFile(metadataGuardRulesPath, metadataGuardRules, "0644"), writeFile(metadataGuardUnitPath, metadataGuardUnit, "0644")];
}

// Deferred until after `packages:`: an apt source whose key is not there yet would fail its update.
function saltRepositoryFiles(saltMajor: string = saltRelease.major): WriteFile[] {
    check(/^[0-9]{4}$/.test(saltMajor), `saltMajor must be a Salt major version such as 3008, not ${JSON.stringify(saltMajor)}`);
    const source = [
        "Types: deb",
        `URIs: ${saltRelease.repoUri}`,
        `Suites: ${saltRelease.suite}`,
        `Components: ${saltRelease.component}`,
        `Signed-By: ${saltRelease.keyring}`,
    ];
    const pin = ["Package: salt-*", `Pin: version ${saltMajor}.*`, "Pin-Priority: 1001"];
    return [
        writeFile(saltRelease.sourcesFile, `${source.join("\n")}\n`, "0644", true),
        writeFile(saltRelease.pinFile, `${pin.join("\n")}\n`, "0644", true),
    ];
}

// runcmd is one sh script: "set -e" stops it at the first failure, so nothing is installed from
// a repository whose key did not check out.
function installSalt(saltPackage: string): string[] {
    const primaryFingerprints =
        `gpg --batch --show-keys --with-colons ${downloadedKey} | awk -F: '$1 == "pub" { p = 1 } $1 == "fpr" && p { print $10; p = 0 }'`;
    return [
        "set -e",
        // Before anything else runs on the server: the keys in the user data stay root's.
        "systemctl daemon-reload",
        "systemctl enable --now holodeck-metadata-guard.service",
        "install -d -m 0755 /etc/apt/keyrings",
        `curl -fsSL --retry 5 -o ${downloadedKey} ${saltRelease.keyUrl}`,
        // Exactly one primary key, the pinned one; gpg --dearmor passes a binary key through unchanged.
        `test "$(${primaryFingerprints})" = ${saltRelease.keyFingerprint} || { echo "Salt repository key is not ${saltRelease.keyFingerprint}" >&2; exit 1; }`,
        `gpg --batch --yes --dearmor -o ${saltRelease.keyring} ${downloadedKey}`,
        `rm -f ${downloadedKey}`,
        "apt-get update",
        `DEBIAN_FRONTEND=noninteractive apt-get install -y ${saltPackage}`,
    ];
}
