// Salt facts shared by the renderers: which packages to install from where, and the master key
// fingerprint a minion pins so it refuses an impostor master.
import { createHash } from "node:crypto";

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
