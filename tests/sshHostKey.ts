// An ED25519 SSH host key made by OpenSSH's own ssh-keygen, in the formats @pulumi/tls gives.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SshHostKey } from "../lib/cloudInit";

export function sshHostKey(): SshHostKey {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-hostkey-"));
    try {
        const file = path.join(dir, "key");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file]);
        return { privateKeyOpenssh: fs.readFileSync(file, "utf8"), publicKeyOpenssh: fs.readFileSync(`${file}.pub`, "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
