// Stack configuration: every bad value is named with its key and its fix, all at once.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { BuiltRelease, ConfigError, HolodeckConfig, parseConfig, RawConfig } from "../config";
import { commitDirectory, sampleAppDir } from "../tools/localRelease";

const root = path.resolve(__dirname, "..");
const commit = "3f786850e387550fdab836ed7e6dc881de23001b";
const imageId = "5f3c1a52-9d0e-4c1b-8a55-0a8f1e2b3c4d";
const valid: RawConfig = {
    appRepo: "https://git.example.com/org/app.git", commit, imageId, flavor: "gp.0.2.4", adminCidr: "203.0.113.0/24",
    "openstack:authUrl": "https://keystone.api.sjc3.rackspacecloud.com/v3", appConfig: '{"greeting": "Hello"}',
    appService: "app --host 0.0.0.0 --port 8000", checkFile: "examples/hello/holodeck-checks.yaml",
};
const dockerValid: RawConfig = { ...valid, artifactFormats: '["deb","docker"]', imageRepository: "registry.example.com/team/app" };

function build(raw: RawConfig) {
    const { release } = parseConfig(raw);
    assert.equal(release.kind, "build");
    return release.build;
}

async function secretValue<T>(output: pulumi.Output<T>): Promise<{ secret: boolean; value: T }> {
    const internal = output as unknown as { isSecret: Promise<boolean>; promise(): Promise<T> };
    return { secret: await internal.isSecret, value: await internal.promise() };
}

function problemsOf(raw: RawConfig): readonly string[] {
    try {
        parseConfig(raw);
    } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        // A RunError, so a real CLI prints the problems without a stack trace.
        assert.ok(pulumi.RunError.isInstance(error));
        return error.problems;
    }
    assert.fail("parseConfig accepted the configuration");
}

describe("stack configuration", () => {
    it("applies defaults to a minimal configuration", async () => {
        const { app: { secrets, ...app }, ...rest } = parseConfig(valid);
        assert.deepEqual(await secretValue(secrets), { secret: true, value: {} });
        assert.deepEqual({ ...rest, app }, {
            release: {
                kind: "build",
                build: {
                    repo: "https://git.example.com/org/app.git", commit, subdir: "", packageName: "", prefix: "",
                    python: "/usr/bin/python3", service: "app --host 0.0.0.0 --port 8000", indexUrl: "", findLinks: [], withPip: false,
                },
                keepReleases: 0,
            },
            substrate: {
                kind: "openstack", authUrl: "https://keystone.api.sjc3.rackspacecloud.com/v3", region: "",
                imageId, flavor: "gp.0.2.4", masterFlavor: "gp.0.2.4", buildFlavor: "gp.0.2.4", networkId: "", externalNetwork: "PUBLICNET", adminCidr: "203.0.113.0/24",
            },
            infra: { networkCidr: "10.80.0.0/24", sshUser: "debian", saltVersion: "3008" },
            app: {
                port: 8000, allowedCidr: "", serverCount: 2, loadBalancer: false, healthTimeoutSeconds: 600, canary: 0, canarySoakSeconds: 60, config: { greeting: "Hello" },
                checks: { file: "examples/hello/holodeck-checks.yaml", text: fs.readFileSync(path.join(root, "examples/hello/holodeck-checks.yaml"), "utf8") },
            },
        });
    });

    describe("substrate", () => {
        const common = Object.fromEntries(Object.entries(valid).filter(([key]) => !["imageId", "flavor", "adminCidr", "openstack:authUrl"].includes(key)));

        it("runs on docker without any OpenStack key, with the default server image", () => {
            const config = parseConfig({ ...common, substrate: "docker" });
            assert.deepEqual(config.substrate, { kind: "docker", serverImage: "holodeck/server:bookworm" });
            assert.deepEqual(config.infra, { networkCidr: "10.80.0.0/24", sshUser: "debian", saltVersion: "3008" });
        });

        it("tries a canary of fewer servers than a release has, behind the balancer, on docker only", () => {
            const docker = { ...common, substrate: "docker", loadBalancer: "true", serverCount: "3" };
            const { canary, canarySoakSeconds } = parseConfig({ ...docker, canary: "2", canarySoakSeconds: "30" }).app;
            assert.deepEqual([canary, canarySoakSeconds], [2, 30]);
            assert.deepEqual(problemsOf({ ...docker, canary: "3" }), ["holodeck:canary 3 must be fewer than serverCount (3): the canary is the first servers of a release, tried before the rest"]);
            assert.deepEqual(problemsOf({ ...docker, canary: "1", loadBalancer: "false" }), ["holodeck:canary needs loadBalancer true: the canary is tried beside the live release behind the balancer"]);
            assert.deepEqual(problemsOf({ ...docker, canary: "-1" }), ["holodeck:canary '-1' must be a whole number from 0 to 19 (servers of a release tried first, beside the live one)"]);
            assert.deepEqual(problemsOf({ ...docker, canary: "1", canarySoakSeconds: "4" }), ["holodeck:canarySoakSeconds '4' must be a whole number from 5 to 3600 (seconds the canary serves before its verdict)"]);
            assert.match(problemsOf({ ...valid, loadBalancer: "true", serverCount: "3", canary: "1" }).join("\n"), /^holodeck:canary is not available on openstack yet: .*; set it to 0$/);
        });

        it("refuses OpenStack keys on docker, and an unknown substrate, naming the fix", () => {
            assert.deepEqual(problemsOf({ ...valid, substrate: "docker" }), ["imageId", "flavor", "adminCidr", "openstack:authUrl"].map((key) =>
                `${key.includes(":") ? key : `holodeck:${key}`} is for the openstack substrate, and this stack runs on docker (holodeck:substrate): remove it`));
            assert.deepEqual(problemsOf({ ...valid, substrate: "kubernetes" }), [
                "holodeck:substrate 'kubernetes' must be openstack (servers on an OpenStack cloud) or docker (containers of this machine's Docker engine)",
            ]);
            assert.match(problemsOf({ ...common, substrate: "docker", serverImage: "Holodeck Server" }).join("\n"), /^holodeck:serverImage 'Holodeck Server' is not an image reference/);
        });

        it("builds from a repository of this machine on docker: absolute, file:/// or relative to the project", () => {
            const docker = { ...common, substrate: "docker" };
            const scratch = fs.mkdtempSync(path.join(root, ".holodeck-config-test-"));
            try {
                const relative = path.relative(root, scratch);
                assert.equal(build({ ...docker, appRepo: scratch }).repo, scratch);
                assert.equal(build({ ...docker, appRepo: `file://${scratch}` }).repo, `file://${scratch}`);
                assert.equal(build({ ...docker, appRepo: relative }).repo, scratch);
                assert.equal(build({ ...docker }).repo, valid.appRepo);
                assert.equal(build({ ...docker, appRepo: scratch, pipFindLinks: JSON.stringify([scratch, "https://wheels.example.com/"]) }).findLinks.length, 2);
                assert.deepEqual(problemsOf({ ...docker, appRepo: `${scratch}/missing`, pipFindLinks: `["${scratch}/wheels"]` }), [
                    `holodeck:appRepo '${scratch}/missing' is not a directory of this machine: give the path of the app's git repository`,
                    `holodeck:pipFindLinks '${scratch}/wheels' is not a directory of this machine, which the build minion's container would see it from: create it, or remove it`,
                ]);
            } finally {
                fs.rmSync(scratch, { recursive: true, force: true });
            }
            assert.match(problemsOf({ ...docker, appRepo: "/srv/git/../app" }).join("\n"), /^holodeck:appRepo '\/srv\/git\/\.\.\/app' must be a normalised path/);
            assert.match(problemsOf({ ...docker, appRepo: ".holodeck/no-such-app" }).join("\n"), /^holodeck:appRepo '\.holodeck\/no-such-app' is not a directory of this machine \(\/\S+\/\.holodeck\/no-such-app\)/);
            assert.match(problemsOf({ ...valid, appRepo: "/srv/git/app" }).join("\n"), /^holodeck:appRepo '\/srv\/git\/app' is not an https or ssh git URL \([^)]*\)$/m);
            assert.match(problemsOf({ ...docker, artifactFormats: '["deb","docker"]', imageRepository: "team/app" }).join("\n"), /^holodeck:artifactFormats cannot have docker on the docker substrate/);
            assert.match(problemsOf({ ...docker, networkCidr: "10.80.0.0/28" }).join("\n"), /^holodeck:networkCidr '10\.80\.0\.0\/28' is too small for the docker substrate/);
        });

        it("requires the OpenStack keys on openstack, the default", () => {
            assert.deepEqual(problemsOf(common).map((problem) => problem.split(" ")[0]), ["holodeck:imageId", "holodeck:flavor", "holodeck:adminCidr", "openstack:authUrl"]);
        });
    });

    it("reads the check file, relative to the project, and reports every problem in it", () => {
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-config-checks-"));
        try {
            const bad = path.join(scratch, "checks.yaml");
            fs.writeFileSync(bad, "checks:\n  - {name: home, path: home, expect: {status: 200}}\n  - {name: v, path: /v, expect: {bodyContains: '{{COMMIT}}'}}\n");
            const problems = problemsOf({ ...valid, checkFile: bad });
            assert.equal(problems.length, 2, problems.join("\n"));
            assert.match(problems[0], /^holodeck:checkFile is not a valid check file: \S+checks\.yaml: checks\[0\] \("home"\): path must be a string starting with "\/"/);
            assert.match(problems[1], /checks\[1\] \("v"\): .*\{\{COMMIT\}\}, which has no value/);
        } finally {
            fs.rmSync(scratch, { recursive: true, force: true });
        }
        assert.deepEqual(problemsOf({ ...valid, checkFile: "no/such/checks.yaml" }), [
            `holodeck:checkFile 'no/such/checks.yaml' cannot be read (ENOENT): give a path relative to the project (${root})`,
        ]);
        assert.match(problemsOf({ ...valid, checkFile: undefined }).join("\n"), /^holodeck:checkFile is required to build: the test stack verifies every release/);
        const promoting = parseConfig({ ...valid, artifactSource: "promote", checkFile: undefined });
        assert.equal(promoting.app.checks, undefined, "prod may go without checks");
    });

    it("reads the app's settings, and its secrets as a Pulumi secret", async () => {
        const { app } = parseConfig({ ...valid, appConfig: '{"greeting": "Hi", "workers": 4, "debug": false}', appSecrets: '{"api_token": "xyzzy"}' });
        assert.deepEqual(app.config, { greeting: "Hi", workers: "4", debug: "false" });
        assert.deepEqual(await secretValue(app.secrets), { secret: true, value: { api_token: "xyzzy" } });
    });

    it("names the keys of bad secrets, never their values", () => {
        const problems = problemsOf({ ...valid, appSecrets: '{"Api-Token": "xyzzy", "ok": "line one\\nline two"}' });
        assert.deepEqual(problems, [
            "holodeck:appSecrets key 'Api-Token' must be lowercase letters, digits and '_' (an INI key)",
            "holodeck:appSecrets value of 'ok' must be one line of text, without control characters",
        ]);
        assert.doesNotMatch(problems.join("\n"), /xyzzy|line one/);
    });

    it("promotes without a repository, pinning the commit when one is given", () => {
        const infraOnly = { ...valid, appRepo: undefined, commit: undefined };
        assert.deepEqual(parseConfig({ ...infraOnly, artifactSource: "promote" }).release, {
            kind: "promote", fromStack: "organization/holodeck/test", pinnedCommit: "", image: false,
        });
        assert.deepEqual(parseConfig({ ...infraOnly, artifactSource: "promote", promoteFrom: "acme/holodeck/test", commit }).release, {
            kind: "promote", fromStack: "acme/holodeck/test", pinnedCommit: commit, image: false,
        });
        const withImage = parseConfig({ ...infraOnly, artifactSource: "promote", artifactFormats: '["deb", "docker"]' }).release;
        assert.equal(withImage.kind === "promote" && withImage.image, true);
    });

    it("keeps releases only where the stack builds its .deb alone", () => {
        assert.equal((parseConfig(valid).release as BuiltRelease).keepReleases, 0);
        assert.equal((parseConfig({ ...valid, keepReleases: "5" }).release as BuiltRelease).keepReleases, 5);
        assert.deepEqual(problemsOf({ ...valid, keepReleases: "51" }), ["holodeck:keepReleases '51' must be a whole number from 0 to 50 (verified releases to keep for a rollback without a build)"]);
        assert.match(problemsOf({ ...valid, appRepo: undefined, commit: undefined, artifactSource: "promote", keepReleases: "2" }).join("\n"),
            /^holodeck:keepReleases applies where the stack builds: a promoting stack deploys what its source verified/);
        assert.match(problemsOf({ ...valid, keepReleases: "2", artifactFormats: '["deb","docker"]', imageRepository: "team/app" }).join("\n"),
            /^holodeck:keepReleases cannot go with artifactFormats docker yet/);
    });

    it("reads the image settings when artifactFormats has docker, the registry password as a Pulumi secret", async () => {
        const release = parseConfig({
            ...valid, artifactFormats: '["deb","docker"]', imageRepository: "registry.example.com:5000/team/app",
            registryUsername: "ci", registryPassword: "hunter2-registry",
        }).release;
        assert.equal(release.kind, "build");
        const { password, ...image } = (release as BuiltRelease).image!;
        assert.deepEqual(image, { repository: "registry.example.com:5000/team/app", baseImage: "", username: "ci" });
        assert.deepEqual(await secretValue(password), { secret: true, value: "hunter2-registry" });
        assert.equal((parseConfig(valid).release as BuiltRelease).image, undefined, "no image without docker in artifactFormats");
        const hub = (parseConfig({ ...valid, artifactFormats: '["deb","docker"]', imageRepository: "team/app", imageBase: "debian:12-slim" }).release as BuiltRelease).image!;
        assert.deepEqual([hub.repository, hub.baseImage, hub.username], ["team/app", "debian:12-slim", ""]);
    });

    it("accepts ssh URLs, upper-case SHAs, lists and booleans", () => {
        const settings = build({
            ...valid, appRepo: "git@git.example.com:org/app.git", commit: commit.toUpperCase(), pipFindLinks: '["https://wheels.example.com/"]',
            withPip: "true", venvPrefix: "/srv/app/venv", appService: "app --port 8000",
        });
        assert.equal(settings.commit, commit);
        assert.deepEqual(settings.findLinks, ["https://wheels.example.com/"]);
        assert.equal(settings.withPip, true);
    });

    const cases: [string, RawConfig, RegExp][] = [
        ["a missing repository", { ...valid, appRepo: undefined }, /^holodeck:appRepo is required to build: set it with `pulumi config set holodeck:appRepo/],
        ["a repository path instead of a URL", { ...valid, appRepo: "/srv/git/app" }, /^holodeck:appRepo '\/srv\/git\/app' is not an https or ssh git URL/],
        ["no service to run", { ...valid, appService: undefined }, /^holodeck:appService is required to build: the holodeck Salt state runs the app as the package's systemd service/],
        ["a missing commit", { ...valid, commit: undefined }, /^holodeck:commit is required to build: set it to the full SHA/],
        ["a branch", { ...valid, commit: "main" }, /^holodeck:commit 'main' is not a full 40-hex commit SHA: branches, tags and short SHAs/],
        ["a short SHA", { ...valid, commit: commit.slice(0, 7) }, /^holodeck:commit '3f78685' is not a full 40-hex commit SHA/],
        ["the placeholder commit", { ...valid, commit: "0".repeat(40) }, /^holodeck:commit is still the placeholder of the stack file/],
        ["an absolute subdir", { ...valid, appSubdir: "/app" }, /^holodeck:appSubdir '\/app' must be a relative path/],
        ["a subdir escaping the repository", { ...valid, appSubdir: "a/../../b" }, /^holodeck:appSubdir 'a\/..\/..\/b' must be a relative path inside the repository, without '..'/],
        ["an invalid package name", { ...valid, appName: "My_App" }, /^holodeck:appName 'My_App' is not a valid Debian package name/],
        ["a prefix outside /opt and /srv", { ...valid, venvPrefix: "/usr/local/app" }, /^holodeck:venvPrefix '\/usr\/local\/app' must be an absolute, normalised path below \/opt or \/srv/],
        ["a relative interpreter", { ...valid, python: "python3" }, /^holodeck:python 'python3' must be the absolute path/],
        ["a multi-line service", { ...valid, appService: "app\n--port 8000" }, /^holodeck:appService [\s\S]* must start with the name of a console script/],
        ["an index that is not a URL", { ...valid, pipIndexUrl: "pypi.org/simple" }, /^holodeck:pipIndexUrl 'pypi.org\/simple' must be an http\(s\):\/\/ or file:\/\/ URL/],
        ["find-links that are not a list", { ...valid, pipFindLinks: "/wheels" }, /^holodeck:pipFindLinks '\/wheels' must be a list of wheel directories or URLs/],
        ["a withPip that is not a boolean", { ...valid, withPip: "yes" }, /^holodeck:withPip 'yes' must be true or false/],
        ["an unknown artifact format", { ...valid, artifactFormats: '["deb","rpm"]' }, /^holodeck:artifactFormats '\["deb","rpm"\]' must be a list of deb and docker/],
        ["artifact formats without the .deb", { ...valid, artifactFormats: '["docker"]', imageRepository: "team/app" }, /^holodeck:artifactFormats must include deb: the servers install the \.deb/],
        ["docker without a repository", { ...valid, artifactFormats: '["deb","docker"]' }, /^holodeck:imageRepository is required when artifactFormats has docker/],
        ["a repository with a tag", { ...dockerValid, imageRepository: "registry.example.com:5000/team/app:1.0" }, /^holodeck:imageRepository '[^']+' must name a repository without a tag or digest/],
        ["a repository that is not one", { ...dockerValid, imageRepository: "Team/App" }, /^holodeck:imageRepository 'Team\/App' is not a repository name/],
        ["a base image that is not a reference", { ...dockerValid, imageBase: "debian 12" }, /^holodeck:imageBase 'debian 12' is not an image reference/],
        ["a registry user without a password", { ...dockerValid, registryUsername: "ci" }, /^holodeck:registryPassword must be set together with holodeck:registryUsername: `pulumi config set --secret/],
        ["a registry password without a user", { ...dockerValid, registryPassword: "pw" }, /^holodeck:registryUsername must be set together with holodeck:registryPassword/],
        ["image settings on a promoting stack", { ...valid, artifactSource: "promote", artifactFormats: '["deb","docker"]', imageRepository: "team/app" },
            /^holodeck:imageRepository is for the stack that builds the image: a promoting stack takes the other stack's image by its digest/],
        ["an unknown artifact source", { ...valid, artifactSource: "copy" }, /^holodeck:artifactSource 'copy' must be build \(the test stack\) or promote \(prod\)/],
        ["a promotion source that is not a stack name", { ...valid, promoteFrom: "test" }, /^holodeck:promoteFrom 'test' must name a stack as organization\/project\/stack/],
        ["a missing image", { ...valid, imageId: undefined }, /^holodeck:imageId is required: set it with `pulumi config set holodeck:imageId/],
        ["an image name instead of its ID", { ...valid, imageId: "Debian 12" }, /^holodeck:imageId 'Debian 12' is not an image ID: use the UUID/],
        ["the placeholder image", { ...valid, imageId: "00000000-0000-0000-0000-000000000000" }, /^holodeck:imageId is still the placeholder/],
        ["a missing flavor", { ...valid, flavor: "" }, /^holodeck:flavor is required/],
        ["a network name instead of its ID", { ...valid, networkId: "private" }, /^holodeck:networkId 'private' is not a network ID/],
        ["a network CIDR with host bits", { ...valid, networkCidr: "10.80.0.5/24" }, /^holodeck:networkCidr '10.80.0.5\/24' has host bits set: use 10.80.0.0\/24/],
        ["a missing admin CIDR", { ...valid, adminCidr: undefined }, /^holodeck:adminCidr is required/],
        ["SSH open to the world", { ...valid, adminCidr: "0.0.0.0/0" }, /^holodeck:adminCidr '0.0.0.0\/0' would open SSH to the whole internet/],
        ["SSH open to the world with a padded prefix length", { ...valid, adminCidr: "0.0.0.0/00" },
            /^holodeck:adminCidr '0.0.0.0\/00' has a prefix length with a leading zero: write it 0.0.0.0\/0$/],
        ["SSH open to half the internet", { ...valid, adminCidr: "0.0.0.0/1" },
            /^holodeck:adminCidr '0.0.0.0\/1' would open SSH to 2.1 billion addresses, much of the internet: use your office or bastion CIDR \(a \/8 or narrower\)$/],
        ["an IPv6 admin CIDR", { ...valid, adminCidr: "::/0" },
            /^holodeck:adminCidr '::\/0' is an IPv6 CIDR, and Holodeck's networks are IPv4 only: the subnet it creates, the floating IPs SSH and the checks go through, and the servers' addresses are all IPv4, so an IPv6 rule would never match\. Give an IPv4 CIDR, e\.g\. 203\.0\.113\.0\/24$/],
        ["the whole IPv6 internet with a padded prefix length", { ...valid, adminCidr: "::/000" }, /^holodeck:adminCidr '::\/000' is an IPv6 CIDR/],
        ["an IPv6 app CIDR", { ...valid, appCidr: "2001:db8::/48" }, /^holodeck:appCidr '2001:db8::\/48' is an IPv6 CIDR/],
        ["an IPv6 network", { ...valid, networkCidr: "fd00:80::/64" }, /^holodeck:networkCidr 'fd00:80::\/64' is an IPv6 CIDR/],
        ["an octet with a leading zero (octal to some tools)", { ...valid, adminCidr: "203.0.113.010/32" }, /^holodeck:adminCidr '203.0.113.010\/32' has an octet with a leading zero, which some tools read as octal/],
        ["a prefix length with a leading zero and host bits", { ...valid, appCidr: "10.1.2.3/016" }, /^holodeck:appCidr '10.1.2.3\/016' has a prefix length with a leading zero: write it 10.1.0.0\/16$/],
        ["an address without a prefix length", { ...valid, adminCidr: "203.0.113.7" }, /^holodeck:adminCidr '203.0.113.7' is not a CIDR: write ADDRESS\/PREFIX, e.g. 203.0.113.0\/24 \(a single address is ADDRESS\/32\)$/],
        ["an octet over 255", { ...valid, appCidr: "10.0.256.0/24" }, /^holodeck:appCidr '10.0.256.0\/24' is not a CIDR: each of the four numbers is 0 to 255/],
        ["a network wider than a private range", { ...valid, networkCidr: "0.0.0.0/0" }, /^holodeck:networkCidr '0.0.0.0\/0' is 4.3 billion addresses, not a private subnet/],
        ["an app port in other digits than ASCII's", { ...valid, appPort: "٨٠٠٠" }, /^holodeck:appPort '٨٠٠٠' must be a whole number from 1024 to 65535/],
        ["a flavor with a line break", { ...valid, flavor: "gp.0.2.4\nm1.small" }, /^holodeck:flavor "gp.0.2.4\\nm1.small" holds a control character \(a line break, tab or NUL\): give the name on one line/],
        ["an external network with a NUL", { ...valid, externalNetwork: "PUBLIC\u0000NET" }, /^holodeck:externalNetwork "PUBLIC\\u0000NET" holds a control character/],
        ["an app setting with a Unicode line separator", { ...valid, appConfig: '{"greeting": "one\\u2028two"}' }, /^holodeck:appConfig value of 'greeting' must be one line of text, without control characters$/],
        ["a promotion source of dots", { ...valid, promoteFrom: "../../test" }, /^holodeck:promoteFrom '..\/..\/test' must name a stack as organization\/project\/stack/],
        ["a network too small for a rollout", { ...valid, networkCidr: "10.80.0.0/28", serverCount: "6" },
            /^holodeck:networkCidr '10.80.0.0\/28' leaves 12 addresses for servers, but 16 are needed \(2 × serverCount 6 during a rollout, the master, the build minion, the load balancer\): use a larger subnet/],
        ["an admin CIDR that is not one", { ...valid, adminCidr: "office" }, /^holodeck:adminCidr 'office' is not a CIDR/],
        ["an app CIDR that is not one", { ...valid, appCidr: "10.0.0.0/33" }, /^holodeck:appCidr '10.0.0.0\/33' is not a CIDR/],
        ["a privileged app port", { ...valid, appPort: "80", appService: "app" }, /^holodeck:appPort '80' must be a whole number from 1024 to 65535/],
        ["a service on another port than appPort", { ...valid, appService: "app --host 0.0.0.0 --port 9000" },
            /^holodeck:appService runs the app on port 9000, but holodeck:appPort is 8000: make them agree/],
        ["Salt's port as the app port", { ...valid, appPort: "4505", appService: "app" }, /^holodeck:appPort 4505 is Salt's port: pick another/],
        ["no servers", { ...valid, serverCount: "0" }, /^holodeck:serverCount '0' must be a whole number from 1 to 20/],
        ["too many servers", { ...valid, serverCount: "500" }, /^holodeck:serverCount '500' must be a whole number from 1 to 20/],
        ["a fractional health timeout", { ...valid, healthTimeoutSeconds: "1.5" }, /^holodeck:healthTimeoutSeconds '1.5' must be a whole number/],
        ["a Salt version that is not a major version", { ...valid, saltVersion: "3008.1" }, /^holodeck:saltVersion '3008.1' must be a Salt major version/],
        ["a missing Keystone URL", { ...valid, "openstack:authUrl": undefined }, /^openstack:authUrl is required: set it with `pulumi config set openstack:authUrl/],
        ["no app configuration", { ...valid, appConfig: undefined }, /^holodeck:appConfig is required: the holodeck Salt state renders \/etc\/holodeck\/<app>\/config.ini from it \(pillar holodeck:config\)/],
        ["app configuration that is not a map", { ...valid, appConfig: '["greeting"]' }, /^holodeck:appConfig must be a map of settings, e.g. `pulumi config set --path/],
        ["an app setting that is not an INI key", { ...valid, appConfig: '{"my key": "x"}' }, /^holodeck:appConfig key 'my key' must be lowercase letters/],
        ["a nested app setting", { ...valid, appConfig: '{"db": {"host": "x"}}' }, /^holodeck:appConfig value of 'db' must be one line of text/],
        ["a Keystone v2.0 URL", { ...valid, "openstack:authUrl": "https://identity.api.rackspacecloud.com/v2.0" }, /^openstack:authUrl '.*v2.0' must be the https URL of a Keystone v3 endpoint/],
    ];
    for (const [what, raw, message] of cases) {
        it(`refuses ${what}`, () => {
            const problems = problemsOf(raw);
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.match(problems[0], message);
        });
    }

    it("takes the network's size from an existing network, not networkCidr", () => {
        assert.equal(parseConfig({ ...valid, networkCidr: "10.80.0.0/30", networkId: "5f3c1a52-9d0e-4c1b-8a55-0a8f1e2b3c4e" }).infra.networkCidr, "10.80.0.0/30");
        assert.equal(parseConfig({ ...valid, networkCidr: "10.80.0.0/28" }).infra.networkCidr, "10.80.0.0/28");
    });

    it("never echoes a credential given in a URL", () => {
        const secret = "ghp_N0tReallyAT0ken";
        const cases: [RawConfig, RegExp][] = [
            [{ ...valid, appRepo: `https://ci:${secret}@github.com/org/app.git` },
                /^holodeck:appRepo 'https:\/\/\[redacted\]@github\.com\/org\/app\.git' carries credentials: they would be printed, kept in the stack's state and put on the build minion's command line\. Remove them/],
            [{ ...valid, appRepo: `https://${secret}@github.com/org/app.git` }, /^holodeck:appRepo 'https:\/\/\[redacted\]@github\.com\/org\/app\.git' carries credentials/],
            [{ ...valid, appRepo: `https://ci:${secret} x@github.com/org/app.git` }, /^holodeck:appRepo 'https:\/\/\[redacted\]@github\.com\/org\/app\.git' carries credentials/],
            [{ ...valid, appRepo: `ssh://git:${secret}@github.com/org/app.git` }, /^holodeck:appRepo 'ssh:\/\/\[redacted\]@github\.com\/org\/app\.git' carries credentials/],
            [{ ...valid, "openstack:authUrl": `https://admin:${secret}@keystone.example.com/v3` },
                /^openstack:authUrl 'https:\/\/\[redacted\]@keystone\.example\.com\/v3' carries credentials: remove them, and set the password as a secret/],
            [{ ...valid, "openstack:authUrl": `https://keystone.example.com/v2.0?token=${secret}` }, /^openstack:authUrl 'https:\/\/keystone\.example\.com\/v2\.0\?token=\[redacted\]' must be the https URL/],
            [{ ...valid, pipFindLinks: `https://wheels:${secret}@wheels.example.com/` }, /^holodeck:pipFindLinks 'https:\/\/\[redacted\]@wheels\.example\.com\/' must be a list/],
        ];
        for (const [raw, expected] of cases) {
            const problems = problemsOf(raw);
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.match(problems[0], expected);
            assert.ok(!problems[0].includes(secret.slice(0, 10)), problems[0]);
        }
        // An ssh user is a name, not a secret.
        assert.equal(build({ ...valid, appRepo: "ssh://git@github.com/org/app.git" }).repo, "ssh://git@github.com/org/app.git");
    });

    it("reports every problem at once", () => {
        assert.deepEqual(problemsOf({ ...valid, appRepo: undefined, commit: "main", withPip: "maybe" }).map((problem) => problem.split(" ")[0]).sort(), [
            "holodeck:appRepo", "holodeck:commit", "holodeck:withPip",
        ]);
    });

    describe("project and stack files", () => {
        const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
        /** A shipped stack file's config as the program reads it: keys without "holodeck:", values as strings (objects as JSON). */
        const stackFile = (file: string) => Object.fromEntries(Object.entries(parse(fs.readFileSync(path.join(root, file), "utf8")).config as Record<string, unknown>)
            .map(([key, value]) => [key.replace(/^holodeck:/, ""), typeof value === "string" ? value : JSON.stringify(value)]));

        it("declares every key the program reads, with a type, a description and a default", () => {
            const declared = project.config as Record<string, { type: string; description: string; default: unknown }>;
            const source = fs.readFileSync(path.join(root, "config.ts"), "utf8");
            const read = /const keys = \[([^\]]*)\]/.exec(source)?.[1].match(/"(\w+)"/g)?.map((key) => key.slice(1, -1)) ?? [];
            assert.deepEqual(Object.keys(declared).sort(), read.sort());
            for (const [key, schema] of Object.entries(declared)) {
                assert.ok(["string", "integer", "boolean", "array"].includes(schema.type), `${key} has a type`);
                assert.ok(schema.description.length > 20, `${key} has a description`);
                assert.ok("default" in schema, `${key} has a default`);
            }
        });

        it("declares the same defaults the program applies", () => {
            const defaults = Object.fromEntries(Object.entries(project.config as Record<string, { default: unknown }>)
                .map(([key, schema]) => [key, typeof schema.default === "string" ? schema.default : JSON.stringify(schema.default)]));
            const required = { appRepo: valid.appRepo, commit, imageId, flavor: "gp.0.2.4", adminCidr: "203.0.113.0/24", appConfig: valid.appConfig, appService: valid.appService, checkFile: valid.checkFile };
            const plain = (config: HolodeckConfig) => ({ ...config, app: { ...config.app, secrets: undefined } });
            assert.deepEqual(plain(parseConfig({ ...defaults, ...required, "openstack:authUrl": valid["openstack:authUrl"] })), plain(parseConfig(valid)));
        });

        for (const stack of ["test", "prod"]) {
            it(`Pulumi.${stack}.yaml is valid${stack === "test" ? " once its placeholder commit is replaced" : ""}`, () => {
                const raw = stackFile(`Pulumi.${stack}.yaml`);
                if (stack === "test") assert.match(problemsOf(raw).join("\n"), /^holodeck:commit is still the placeholder[^\n]*$/);
                const config = parseConfig({ ...raw, commit: stack === "test" ? commit : "" });
                assert.equal(config.release.kind, stack === "test" ? "build" : "promote");
                assert.equal(config.substrate.kind, "openstack");
                assert.match(config.substrate.kind === "openstack" ? config.substrate.authUrl : "", /^https:\/\/keystone\.api\.\w+\.rackspacecloud\.com\/v3$/);
            });
        }

        it("Pulumi.local.yaml is valid, on docker, and pins the commit the sample app's repository gets", () => {
            const raw = stackFile("Pulumi.local.yaml");
            assert.equal(raw.appRepo, ".holodeck/sample-app");
            // `pulumi stack init` writes its passphrase's salt there: committed, a fresh clone could not open its own stack.
            assert.doesNotMatch(fs.readFileSync(path.join(root, "Pulumi.local.yaml"), "utf8"), /^encryptionsalt:/m);
            // The repository `npm run demo` makes there, made here elsewhere.
            const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "holodeck-sample-repo-"));
            try {
                const commit = commitDirectory(sampleAppDir, scratch);
                const config = parseConfig({ ...raw, appRepo: scratch });
                assert.equal(config.substrate.kind, "docker");
                assert.equal(build({ ...raw, appRepo: scratch }).commit, commit, "examples/hello changed: set holodeck:commit in Pulumi.local.yaml to this SHA");
            } finally {
                fs.rmSync(scratch, { recursive: true, force: true });
            }
        });

        it("Pulumi.local-prod.yaml is valid, on docker, promotes from the local stack, on a network of its own", () => {
            const raw = stackFile("Pulumi.local-prod.yaml");
            assert.doesNotMatch(fs.readFileSync(path.join(root, "Pulumi.local-prod.yaml"), "utf8"), /^encryptionsalt:/m);
            const config = parseConfig(raw);
            assert.equal(config.substrate.kind, "docker");
            assert.deepEqual(config.release, { kind: "promote", fromStack: "organization/holodeck/local", pinnedCommit: "", image: false });
            const local = parseConfig({ ...stackFile("Pulumi.local.yaml"), appRepo: root });
            assert.notEqual(config.infra.networkCidr, local.infra.networkCidr);
        });
    });
});
