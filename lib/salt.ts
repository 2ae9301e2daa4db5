// Salt facts shared by the renderers: which packages to install from where, and the master key
// fingerprint a minion pins so it refuses an impostor master.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { saltDir } from "./repoFiles";

/** Where Salt comes from and which release line the servers are pinned to. */
export const saltRelease = {
    /** Major version the apt pin holds the salt-* packages to: 3008, the LTS line. */
    major: "3008",
    /** The Salt Project's apt signing key, as its install guide fetches it. */
    keyUrl: "https://packages.broadcom.com/artifactory/api/security/keypair/SaltProjectKey/public",
    /**
     * Fingerprint of that key, SALT-PROJECT-GPG-PUBKEY-2023. Its long id 64CBBC8173D76B3F is the key
     * apt asks for when the repository's InRelease cannot be verified (saltstack/salt#69740, 2026);
     * the full value is the one saltstack/salt's tests/pytests/functional/states/pkgrepo/test_debian.py
     * spoils with a trailing "1" to provoke a failure. Not published in the install guide.
     */
    keyFingerprint: "10857FFDD3F91EAE577A21D664CBBC8173D76B3F",
    /**
     * Binary keyring apt reads. ".gpg", not the install guide's ".pgp": newer apt ignores other
     * extensions (saltstack/salt#69740, fixed the same way in salt-bootstrap#2121).
     */
    keyring: "/etc/apt/keyrings/salt-archive-keyring.gpg",
    /** The onedir package repository. */
    repoUri: "https://packages.broadcom.com/artifactory/saltproject-deb",
    /** Suite of that repository. */
    suite: "stable",
    /** Component of that repository. */
    component: "main",
    /** The deb822 source file naming the repository. */
    sourcesFile: "/etc/apt/sources.list.d/salt.sources",
    /** The apt preferences file that pins the salt-* packages to the major version. */
    pinFile: "/etc/apt/preferences.d/salt-pin-1001",
} as const;

// Python's bytes.strip() whitespace: a line of only these is blank to Salt.
const blankLine = /^[ \t\n\r\v\f]*$/;

/**
 * The fingerprint Salt's `salt.utils.crypt.pem_finger` gives the PEM text `publicKeyPem` with its
 * default sha256, as minions compare it with `master_finger`: CRLF read as LF, blank lines dropped,
 * the BEGIN and END lines dropped, the base64 lines hashed each with its newline, the digest as
 * lowercase hex pairs joined by ":". Line wrapping and the key format (SPKI or PKCS#1) change it.
 */
export function masterFinger(publicKeyPem: string): string {
    const lines = publicKeyPem.replace(/\r\n/g, "\n").split("\n").filter((line) => !blankLine.test(line));
    if (lines.length < 3 || !lines[0].startsWith("-----BEGIN ") || !lines[lines.length - 1].startsWith("-----END ")) {
        throw new Error("masterFinger: expected a PEM public key (BEGIN line, base64 lines, END line)");
    }
    const body = lines.slice(1, -1).map((line) => `${line}\n`).join("");
    const digest = createHash("sha256").update(body, "utf8").digest("hex");
    return digest.replace(/(..)(?!$)/g, "$1:");
}

/**
 * The pillar keys salt/states/holodeck reads, ":"-separated as Salt writes them. The program
 * provides every one in each release's pillar (a test holds the state files to this list).
 */
export const statePillarKeys = [
    "holodeck:app", "holodeck:release:id", "holodeck:release:file", "holodeck:release:url", "holodeck:release:sha256",
    "holodeck:config", "holodeck:secrets",
] as const;

/** Inputs of {@link renderReleasePillar}. */
export interface ReleasePillarArgs {
    /** Debian package name of the app (also its service and group). */
    readonly app: string;
    /** Release id: the first 12 hex digits of the .deb's sha256. */
    readonly releaseId: string;
    /** Debian version of the package. */
    readonly version: string;
    /** sha256 of the .deb, which the state verifies before installing it. */
    readonly sha256: string;
    /** Download URL of the .deb. */
    readonly url: string;
    /** [app] settings of config.ini. */
    readonly config: Readonly<Record<string, string>>;
    /** [secrets] settings of config.ini. */
    readonly secrets: Readonly<Record<string, string>>;
}

/** Where the master keeps a release's pillar, as pillar/top.sls finds it from minion ids. */
export function releasePillarPath(releaseName: string): string {
    return `/srv/pillar/releases/${releaseName.replace(/\./g, "_")}.sls`;
}

/** A release's pillar: what the holodeck state installs and how it configures it. */
export function renderReleasePillar(args: ReleasePillarArgs): string {
    // The state quotes the URL in curl's config file (salt/states/holodeck/download.curlrc.jinja).
    if (!/^https?:\/\/[^\s"\\]+$/.test(args.url)) {
        throw new Error(`the download URL of release ${args.releaseId} must be http(s) without quotes, backslashes or whitespace (percent-encode them)`);
    }
    const sorted = (settings: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : 1)));
    const pillar = {
        holodeck: {
            app: args.app,
            release: { id: args.releaseId, version: args.version, sha256: args.sha256, url: args.url, file: `${args.app}_${args.releaseId}.deb` },
            config: sorted(args.config),
            secrets: sorted(args.secrets),
        },
    };
    // "#!yaml": YAML only, never Jinja (the master's default is jinja|yaml), so a value holding
    // "{{", "{%" or "{#" is data. YAML 1.1, as Salt reads it: values that look like booleans or
    // numbers stay strings.
    return `#!yaml\n# Holodeck release ${args.releaseId} of ${args.app}: written by Pulumi, removed with the release.\n${stringify(pillar, { version: "1.1", lineWidth: 0 })}`;
}

/** The holodeck state's paths and modes (salt/states/holodeck/defaults.yaml, as map.jinja reads them). */
export interface StateDefaults {
    /** Directory the .deb is downloaded to. */
    readonly download_dir: string;
    /** Its mode. */
    readonly download_dir_mode: string;
    /** Mode of the downloaded .deb. */
    readonly deb_mode: string;
    /** curl's configuration file holding the signed URL. */
    readonly curl_config: string;
    /** Its mode. */
    readonly curl_config_mode: string;
    /** The app's config.ini, the service's $HOLODECK_CONFIG. */
    readonly config_file: string;
    /** Its mode. */
    readonly config_mode: string;
    /** Mode of the directories made for it. */
    readonly config_dir_mode: string;
}

/** The holodeck state's paths and modes for the package `app`, from the state tree's defaults.yaml. */
export function stateDefaults(app: string): StateDefaults {
    const file = path.join(saltDir, "states", "holodeck", "defaults.yaml");
    const values = (parse(fs.readFileSync(file, "utf8"), { version: "1.1" }) as { holodeck: Record<string, string> }).holodeck;
    return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, value.split("{app}").join(app)])) as unknown as StateDefaults;
}
