// The metadata guard for real: nftables rules loaded in a private network namespace where the
// metadata address answers, tried as root and as another user.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { metadataGuardRules, metadataGuardUnit } from "../lib/cloudInit";

describe("the metadata guard", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-guard-"));
        fs.chmodSync(dir, 0o755);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("lets root reach the metadata address and refuses every other user, however often it is loaded", () => {
        const rules = path.join(dir, "metadata-guard.nft");
        fs.writeFileSync(rules, metadataGuardRules);
        const script = `
            set -u
            ip link set lo up
            ip addr add 169.254.169.254/32 dev lo
            nft -f "$1" && nft -f "$1" || exit 3
            echo "tables: $(nft list tables | grep -c holodeck_metadata_guard)"
            python3 -m http.server --bind 169.254.169.254 80 --directory "$2" >/dev/null 2>&1 &
            for _ in $(seq 50); do curl -s -o /dev/null http://169.254.169.254/ && break; sleep 0.1; done
            echo "root: $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://169.254.169.254/)"
            echo "nobody: $(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://169.254.169.254/)"
            kill %1`;
        const result = spawnSync("unshare", ["--net", "bash", "-c", script, "guard", rules, dir], { encoding: "utf8" });
        assert.equal(result.stdout, "tables: 1\nroot: 200\nnobody: 000\n", result.stderr);
    });

    it("is a unit systemd-analyze accepts", () => {
        const unit = path.join(dir, "holodeck-metadata-guard.service");
        fs.writeFileSync(unit, metadataGuardUnit);
        const verify = spawnSync("systemd-analyze", ["verify", "--man=no", unit], { encoding: "utf8" });
        assert.equal(verify.status, 0, verify.stderr);
    });
});
