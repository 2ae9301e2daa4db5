// The artifact store and the release id: the pure functions directly, and the program's wiring of
// them under the SDK's mocks (tools/offlineRun.ts). The copy itself runs for real in publish.test.ts.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { promotedObjectName, releaseId } from "../components/artifact";
import { copyScript, downloadUrlExpiry, signTempUrl } from "../components/artifactStore";
import { isSecretValue, OfflineRun, RecordedResource, reveal, runOffline } from "../tools/offlineRun";
import { commitA, prodConfig as programProdConfig, testConfig as programTestConfig } from "./programConfig";

type Program = () => Promise<Record<string, unknown>>;

const day = 86400;
const commit = commitA;
// One server; an app secret of four digits, which the release id must not reveal.
const testConfig = { ...programTestConfig, "holodeck:serverCount": "1", "holodeck:appSecrets": JSON.stringify({ api_token: "1234" }) };
const prodConfig = { ...programProdConfig, "holodeck:serverCount": "1", "holodeck:loadBalancer": "false" };
const testStackUrl = `https://swift.test.example/v1/AUTH_test/artifacts-c0ffee/holodeck-hello_1.0.0+git20260102.3f78685_amd64.deb?temp_url_sig=${"5e".repeat(32)}&temp_url_expires=1900000000`;
const verified = {
    artifact: {
        commit, version: "1.0.0+git20260102.3f78685", projectVersion: "1.0.0", packageName: "holodeck-hello", sha256: "ab".repeat(32), url: testStackUrl,
    },
    verification: { sha256: "ab".repeat(32), commit, passed: true, checks: 3, failures: 0, at: "2026-11-25T10:00:00Z" },
};

// Swift's tempurl middleware's check, written from its documentation in Python: HMAC over
// "METHOD\nEXPIRES\nPATH" with the key, the digest told by the hex signature's length.
const swiftCheck = `
import hashlib, hmac, sys, urllib.parse
url, key, method = sys.argv[1:]
parts = urllib.parse.urlsplit(url)
query = dict(urllib.parse.parse_qsl(parts.query))
sig, expires = query["temp_url_sig"], query["temp_url_expires"]
digest = {40: hashlib.sha1, 64: hashlib.sha256, 128: hashlib.sha512}[len(sig)]
path = urllib.parse.unquote(parts.path)
path = path[path.index("/v1/"):]
want = hmac.new(key.encode(), f"{method}\\n{expires}\\n{path}".encode(), digest).hexdigest()
print("valid" if hmac.compare_digest(want, sig) else "invalid")
`;
function swiftAccepts(url: string, key: string, method = "GET"): boolean {
    const run = spawnSync("/usr/bin/python3", ["-c", swiftCheck, url, key, method], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout.trim() === "valid";
}

const byName = (run: OfflineRun): Map<string, RecordedResource> => new Map(run.resources.map((resource) => [resource.name, resource]));

describe("the artifact store", () => {
    describe("download URL renewal (downloadUrlExpiry)", () => {
        const window = 30 * day;
        const start = 700 * window;

        it("gives the same expiry to every up inside one 30-day window, and a new one in the next", () => {
            for (const offset of [0, 1, day, window - 1]) assert.equal(downloadUrlExpiry(start + offset, 90, 30), start + 90 * day, `offset ${offset}`);
            assert.equal(downloadUrlExpiry(start + window, 90, 30), start + window + 90 * day);
        });

        it("hands out a URL valid for at least TTL minus the window, whenever the up runs", () => {
            for (let now = start - 3 * day; now < start + 2 * window; now += 3607) {
                const left = downloadUrlExpiry(now, 90, 30) - now;
                assert.ok(left > 60 * day && left <= 90 * day, `at ${now}: ${left / day} days left`);
            }
        });

        it("refuses a window as long as the URL's life", () => {
            assert.throws(() => downloadUrlExpiry(start, 30, 30), /must live longer \(30 days\) than its renewal window \(30 days\)/);
        });
    });

    describe("signTempUrl", () => {
        const key = "k3y-of-the-container";
        const object = "https://swift.example/v1/AUTH_0f1e/artifacts-1a2b3c4/holodeck-hello_1.0.0+git20260102.3f78685_amd64.deb";

        it("signs a GET that Swift's tempurl check accepts, with SHA-256, and nothing else", () => {
            const url = signTempUrl(object, key, 1_900_000_000);
            assert.match(url, new RegExp(`^${object.replace(/[.+]/g, "\\$&")}\\?temp_url_sig=[0-9a-f]{64}&temp_url_expires=1900000000$`));
            assert.ok(swiftAccepts(url, key));
            assert.ok(!swiftAccepts(url, `${key}x`), "another key");
            assert.ok(!swiftAccepts(url, key, "PUT"), "another method");
            assert.ok(!swiftAccepts(url.replace("1900000000", "1900000001"), key), "another expiry");
        });

        it("gives the URL gophercloud v1.8.0's objects.CreateTempURL gives (Digest sha256; computed once with Go, same key, object and expiry)", () => {
            assert.equal(signTempUrl(object, key, 1_900_000_000),
                `${object}?temp_url_sig=fea04f3115056f70194453954c16bb541e9b1239dc086fa82c4690e1db8b1430&temp_url_expires=1900000000`);
        });

        it("signs from /v1/ on, behind an endpoint with a path prefix, as gophercloud splits it", () => {
            const url = signTempUrl("https://cloud.example/swift/v1/AUTH_x/c/o.deb", key, 1_900_000_000);
            assert.ok(url.startsWith("https://cloud.example/swift/v1/AUTH_x/c/o.deb?"));
            assert.ok(swiftAccepts(url, key));
            assert.throws(() => signTempUrl("https://cloud.example/c/o.deb", key, 1), /not a Swift object URL/);
            assert.throws(() => signTempUrl(object, "", 1), /key is empty/);
        });
    });

    describe("promotion's copy", () => {
        it("names the copy as the source store names the .deb", () => {
            assert.equal(promotedObjectName(testStackUrl), "holodeck-hello_1.0.0+git20260102.3f78685_amd64.deb");
            assert.throws(() => promotedObjectName("https://swift/v1/AUTH_x/c/?temp_url_sig=1"), /does not end in a \.deb file name \(it ends in ''\)/);
            assert.throws(() => promotedObjectName("https://swift/v1/AUTH_x/c/%2e%2e%2fx.deb"), /it ends in '\.\.\/x\.deb'/);
        });

        it("runs holodeck-publish's copy with everything but secrets as arguments", () => {
            const script = copyScript({ packageName: "holodeck-hello", version: "1.0.0+git1", sha256: "ab".repeat(32) }, "h_1.deb", "https://swift/v1/AUTH_x/c", "https://keystone/v3");
            assert.equal(script, [
                "set -euo pipefail",
                `bash "$HOME/holodeck-publish" --copy-object h_1.deb --sha256 ${"ab".repeat(32)} --release 'holodeck-hello 1.0.0+git1 (sha256 abababababab)' `
                + "--container-url https://swift/v1/AUTH_x/c --auth-url https://keystone/v3",
            ].join("\n"));
        });
    });
});

describe("the release id (releaseId)", () => {
    const key = "5a".repeat(32);
    const sha256 = "ab".repeat(32);
    const config = { greeting: "Hello" };
    // What the id was before it was keyed: anyone could recompute it.
    const unkeyed = (secrets: Record<string, string>) => createHash("sha256")
        .update(`${sha256}\n${JSON.stringify(Object.entries(config))}\n${JSON.stringify(Object.entries(secrets))}`).digest("hex").slice(0, 12);

    it("is 12 hex digits, the same for the same key and inputs, and another for another key", () => {
        const id = releaseId(key, sha256, config, { pin: "0042" });
        assert.match(id, /^[0-9a-f]{12}$/);
        assert.equal(releaseId(key, sha256, config, { pin: "0042" }), id);
        assert.notEqual(releaseId("a5".repeat(32), sha256, config, { pin: "0042" }), id);
        assert.notEqual(releaseId(key, sha256, config, { pin: "0043" }), id, "secrets still make a new release");
    });

    it("confirms no guess at a weak secret without the key: a brute force of every 4-digit PIN finds it only with the key", () => {
        const id = releaseId(key, sha256, config, { pin: "0042" });
        const pins = Array.from({ length: 10_000 }, (_, n) => String(n).padStart(4, "0"));
        assert.deepEqual(pins.filter((pin) => unkeyed({ pin }) === id), [], "the plain hash of the inputs is not the id");
        assert.deepEqual(pins.filter((pin) => releaseId(key, sha256, config, { pin }) === id), ["0042"], "with the key, the search is easy: the key is what protects it");
    });

    it("refuses a missing or short key rather than hash without one", () => {
        assert.throws(() => releaseId("", sha256, config, {}), /at least 16 bytes/);
        assert.throws(() => releaseId("ab".repeat(8), sha256, config, {}), /at least 16 bytes/);
    });
});

describe("the program's store, URL and release id under mocks", function () {
    const window = 30 * day;
    const start = 700 * window;
    let program: Program;
    const at = async (seconds: number, stack: string, config: Record<string, string>, cloud = {}): Promise<OfflineRun> => {
        const now = Date.now;
        Date.now = () => seconds * 1000;
        try {
            return await runOffline(program, { project: "holodeck", stack, config, cloud });
        } finally {
            Date.now = now;
        }
    };
    let first: OfflineRun;
    let sameWindow: OfflineRun;
    let nextWindow: OfflineRun;
    let prod: OfflineRun;

    before(async () => {
        program = (await import("../index")).default as Program;
        first = await at(start + 3600, "test", testConfig);
        sameWindow = await at(start + 29 * day, "test", testConfig);
        nextWindow = await at(start + window + 60, "test", testConfig);
        prod = await at(start + 3600, "prod", prodConfig, { stackOutputs: { "acme/holodeck/test": verified } });
    });

    const artifactUrl = (run: OfflineRun): string => {
        const url = (run.outputs.artifact as Record<string, unknown>).url;
        assert.ok(isSecretValue(url), "the URL is a secret");
        return String(reveal(url));
    };
    const containerKey = (run: OfflineRun): string =>
        (reveal(byName(run).get("artifacts-container")?.inputs.metadata) as Record<string, string>)["Temp-URL-Key"];

    it("lets `pulumi destroy` delete each stack's container with its releases (forceDestroy)", () => {
        for (const run of [first, prod]) assert.equal(byName(run).get("artifacts-container")?.inputs.forceDestroy, true);
    });

    it("gives servers a URL signed with the container's key, valid 90 days from the start of the 30-day window", () => {
        const url = artifactUrl(first);
        const { version } = reveal(first.outputs.artifact) as Record<string, string>;
        assert.match(url, /^https:\/\/swift\.offline\.invalid\/v1\/AUTH_offline\/artifacts-container-[0-9a-f]{7}\/holodeck-hello_.*_amd64\.deb\?temp_url_sig=[0-9a-f]{64}&temp_url_expires=\d+$/);
        assert.ok(url.includes(version));
        assert.equal(new URL(url).searchParams.get("temp_url_expires"), String(start + 90 * day));
        assert.ok(swiftAccepts(url, containerKey(first)));
    });

    it("changes nothing on an up inside the window, and renews the URL in the next, rewriting the pillar in place under the same release id", () => {
        assert.equal(artifactUrl(sameWindow), artifactUrl(first));
        const pillar = (run: OfflineRun) => byName(run).get("app-pillar")?.inputs;
        assert.deepEqual(reveal(pillar(sameWindow)), reveal(pillar(first)), "the pillar is untouched");

        const renewed = artifactUrl(nextWindow);
        assert.notEqual(renewed, artifactUrl(first));
        assert.equal(new URL(renewed).searchParams.get("temp_url_expires"), String(start + window + 90 * day));
        assert.equal(nextWindow.outputs.releaseId, first.outputs.releaseId, "the URL does not feed the release id");
        assert.equal(reveal(pillar(nextWindow)?.create), reveal(pillar(first)?.create), "the same pillar path");
        assert.ok(String(reveal(pillar(nextWindow)?.stdin)).includes(renewed), "the pillar carries the renewed URL");
    });

    it("keys the release id with a random secret of the stack's own", () => {
        const key = byName(first).get("release-id-key");
        assert.equal(key?.type, "random:index/randomBytes:RandomBytes");
        assert.equal(key?.inputs.length, 32);
        assert.ok(key?.options.additionalSecretOutputs?.includes("hex"), "the key is a secret");
        const id = String(first.outputs.releaseId);
        assert.match(id, /^[0-9a-f]{12}$/);
        const { sha256 } = reveal(first.outputs.artifact) as { sha256: string };
        const plain = createHash("sha256").update(`${sha256}\n${JSON.stringify([["greeting", "Hello from test"]])}\n${JSON.stringify([["api_token", "1234"]])}`).digest("hex");
        assert.notEqual(id, plain.slice(0, 12), "not the unkeyed hash anyone could recompute");
    });

    describe("prod", () => {
        it("copies the verified .deb into a store of its own on its Salt master, the source URL and credential on stdin", () => {
            const resources = byName(prod);
            assert.equal(resources.get("artifacts")?.type, "holodeck:index:ArtifactStore");
            const publisher = resources.get("artifacts-publisher");
            assert.equal(reveal(publisher?.inputs.remotePath), "/home/debian/holodeck-publish");
            assert.deepEqual(publisher?.options.dependsOn, ["salt-master-host-ready"]);
            assert.ok((reveal(publisher?.inputs.triggers) as string[]).includes("salt-master-host-server-id"), "a replaced master gets the script anew");
            const copy = resources.get("artifacts-copy");
            assert.deepEqual(copy?.options.dependsOn, ["artifacts-publisher"]);
            assert.deepEqual(reveal(copy?.inputs.connection), reveal(resources.get("salt-master-host-ready")?.inputs.connection), "over the master's connection");
            const script = String(reveal(copy?.inputs.create));
            assert.match(script, new RegExp(`--copy-object holodeck-hello_1\\.0\\.0\\+git20260102\\.3f78685_amd64\\.deb --sha256 ${"ab".repeat(32)} `
                + "--release 'holodeck-hello 1\\.0\\.0\\+git20260102\\.3f78685 \\(sha256 abababababab\\)' "
                + "--container-url https://swift\\.offline\\.invalid/v1/AUTH_offline/artifacts-container-[0-9a-f]{7} --auth-url https://keystone\\.api\\.dfw3\\.rackspacecloud\\.com/v3$"));
            assert.ok(isSecretValue(copy?.inputs.stdin));
            assert.equal(reveal(copy?.inputs.stdin), `artifacts-uploader-id\noffline-artifacts-uploader-secret\n${testStackUrl}\n`);
        });

        it("gives its servers a URL of its own store: the test stack's URL goes nowhere but the copy's stdin", () => {
            const url = artifactUrl(prod);
            assert.match(url, /^https:\/\/swift\.offline\.invalid\/v1\/AUTH_offline\/artifacts-container-[0-9a-f]{7}\/holodeck-hello_1\.0\.0\+git20260102\.3f78685_amd64\.deb\?temp_url_sig=/);
            assert.ok(swiftAccepts(url, containerKey(prod)));
            assert.ok(String(reveal(byName(prod).get("app-pillar")?.inputs.stdin)).includes(url));
            const elsewhere = prod.resources.filter((resource) => resource.name !== "artifacts-copy").map((resource) => JSON.stringify(reveal(resource.inputs)));
            assert.ok(!elsewhere.some((inputs) => inputs.includes("swift.test.example")), "no resource but the copy holds the test stack's URL");
            assert.ok(!JSON.stringify(reveal(prod.outputs)).includes("swift.test.example"), "nor do the outputs");
        });

        it("refuses, before creating anything, a promoted URL that names no .deb", async () => {
            const broken = { ...verified, artifact: { ...verified.artifact, url: "https://swift.test.example/v1/AUTH_test/c/?temp_url_sig=1" } };
            const registered: string[] = [];
            await assert.rejects(runOffline(program, { project: "holodeck", stack: "prod", config: prodConfig, cloud: { stackOutputs: { "acme/holodeck/test": broken } }, registered }),
                /the promoted release's URL does not end in a \.deb file name \(it ends in ''\): update the stack it comes from/);
            assert.deepEqual(registered, ["pulumi:pulumi:StackReference::acme/holodeck/test"]);
        });
    });
});
