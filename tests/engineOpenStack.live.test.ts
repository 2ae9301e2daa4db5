// The program's Network component under the real engine and the real OpenStack plugin, pointed at
// a loopback Keystone and Neutron (tests/fakeOpenStack.ts): the provider authenticates and answers
// the component's data sources during preview, which mocks only pretend to do.
import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../lib/paths";
import { reveal, runOffline } from "../tools/offlineRun";
import { Finished } from "../tools/localRelease";
import { FakeOpenStack } from "./fakeOpenStack";
import { assertReportedError, previewSteps, Workspace } from "./realEngine";

const fixture = path.join(repoRoot, "tests", "fixtures", "network-component");
const policyPack = path.join(repoRoot, "policy");

const region = "RegionOne";
const password = `pw-${randomBytes(12).toString("hex")}`;
const account = { userName: "holodeck-deployer", userDomainName: "Default", projectName: "holodeck-ci", projectDomainName: "Default" };
const existing = { networkId: "0d2c4e6f-8a1b-4c3d-9e5f-7a6b8c9d0e1f", subnetId: "6a1f0c3e-2b4d-4e8a-9c7b-1d3e5f7a9b0c", cidr: "192.168.57.0/24" };
const bareNetworkId = "4b9e2d1c-7f3a-4e6b-8c5d-0a1b2c3d4e5f";
const externalNetworkId = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b";
/** The holodeck: keys the fixture reads, as a small stack would set them. */
const network = {
    "holodeck:networkCidr": "10.80.0.0/24",
    "holodeck:externalNetwork": "PUBLICNET",
    "holodeck:adminCidr": "203.0.113.0/24",
    "holodeck:appPort": "8000",
    "holodeck:appCidr": "198.51.100.0/24",
    "holodeck:loadBalancer": "true",
};

/** The ingress rule that admits the load balancer's subnet. */
function loadBalancerRule<T extends { inputs: Record<string, unknown> }>(resources: T[]): T | undefined {
    return resources.find((resource) => String(reveal(resource.inputs.description)).includes("load balancer members"));
}

/** What the same fixture registers under the SDK's mocks, for the same holodeck: config. */
async function underMocks(config: Record<string, string>) {
    const program = (await import("./fixtures/network-component/index")).default;
    return runOffline(program, { project: "network-component", stack: "test", config: { "openstack:region": region, ...config } });
}

describe("the Network component under the real engine and OpenStack plugin, against a loopback Keystone and Neutron", function () {
    this.timeout(600_000);
    let workspace: Workspace;
    let cloud: FakeOpenStack;

    beforeEach(async () => {
        workspace = new Workspace();
        cloud = await FakeOpenStack.start({
            region, password, ...account,
            networks: [
                { id: externalNetworkId, name: "PUBLICNET", external: true },
                { id: existing.networkId, name: "holodeck-existing", subnets: [{ id: existing.subnetId, cidr: existing.cidr }] },
                { id: bareNetworkId, name: "no-subnet" },
            ],
        });
    });
    afterEach(async () => {
        await cloud.close();
        workspace.remove();
    });

    /** A stack of the fixture with `holodeck` config and the cloud's credentials, the password as a secret. */
    async function stack(name: string, holodeck: Record<string, string>): Promise<string> {
        const project = await workspace.project(name, fixture, {
            test: {
                "openstack:authUrl": cloud.authUrl, "openstack:region": region, "openstack:userName": account.userName,
                "openstack:userDomainName": account.userDomainName, "openstack:tenantName": account.projectName,
                "openstack:projectDomainName": account.projectDomainName, ...holodeck,
            },
        });
        await workspace.pulumiOk(project, "config", "set", "--secret", "openstack:password", password, "-s", "test");
        const file = fs.readFileSync(path.join(project, "Pulumi.test.yaml"), "utf8");
        assert.match(file, /openstack:password:\n\s+secure: /, file);
        return project;
    }

    /** `pulumi preview ARGS` of the stack; the fake must have been asked nothing it does not know, and the password never shown. */
    async function preview(project: string, ...args: string[]): Promise<Finished> {
        const run = await workspace.pulumi(project, "preview", "-s", "test", ...args);
        const output = `${run.stdout}${run.stderr}`;
        const unexpected = cloud.unexpected.map((request) => `${request.method} ${request.path} ${JSON.stringify(request.query)}`);
        if (unexpected.length > 0) assert.fail(`the provider asked the fake OpenStack what it has no answer for:\n  ${unexpected.join("\n  ")}\nCLI output:\n${output}`);
        assert.ok(!output.includes(password), `the password is in the CLI's output:\n${output}`);
        return run;
    }

    it("previews a created network: every step a create, the same resources as under mocks, the router on Neutron's external network", async () => {
        const project = await stack("created", network);
        const run = await preview(project, "--json");
        assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
        const found = previewSteps(run.stdout);
        assert.deepEqual(found.filter((step) => step.op !== "create"), [], "only creates");
        const mocked = await underMocks(network);
        assert.deepEqual(found.map((step) => step.resource).sort(), mocked.resources.map((resource) => `${resource.type}::${resource.name}`).sort());
        // getNetworkOutput's answer reaches the router's inputs (under mocks: a stand-in ID).
        const router = found.find((step) => step.resource === "openstack:networking/router:Router::net-router");
        assert.equal(router?.inputs.externalNetworkId, externalNetworkId);
        assert.equal(cloud.tokenRequests.length, 1, "one token for the preview");
        assertNeutronAsked(["GET /network/v2.0/networks?name=PUBLICNET&router%3Aexternal=true"]);
    });

    it("previews an existing network with the subnet and CIDR Neutron reports, after a password token from secret config", async () => {
        const config = { ...network, "holodeck:networkId": existing.networkId };
        const project = await stack("existing", config);
        const run = await preview(project, "--json");
        assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
        const found = previewSteps(run.stdout);
        assert.deepEqual(found.filter((step) => step.op !== "create"), [], "only creates");

        // The same resources as under mocks, but for the rule named after the subnet's CIDR: the
        // stand-in cloud's CIDR there, the fake Neutron's here.
        const mocked = await underMocks(config);
        const mockCidr = loadBalancerRule(mocked.resources)?.inputs.remoteIpPrefix;
        assert.equal(mockCidr, "172.16.40.0/24", "the mocks' stand-in subnet");
        assert.equal(loadBalancerRule(found)?.inputs.remoteIpPrefix, existing.cidr, "the load balancer's rule admits the subnet Neutron reports");
        const asNamedHere = (name: string) => name.replace(String(mockCidr).replace("/", "_"), existing.cidr.replace("/", "_"));
        assert.deepEqual(found.map((step) => step.resource).sort(), mocked.resources.map((resource) => asNamedHere(`${resource.type}::${resource.name}`)).sort());
        assert.ok(!found.some((step) => /networking\/(network|subnet|router):/.test(step.resource)), "nothing of the network is created");

        // The CLI shows the config it ran with: the password only as a secret.
        assert.equal((JSON.parse(run.stdout) as { config: Record<string, string> }).config["openstack:password"], "[secret]");
        assert.deepEqual(cloud.tokenRequests.map((request) => [request.method, JSON.parse(request.body)]), [["POST", {
            auth: {
                identity: { methods: ["password"], password: { user: { name: account.userName, password, domain: { name: account.userDomainName } } } },
                scope: { project: { name: account.projectName, domain: { name: account.projectDomainName } } },
            },
        }]]);
        assertNeutronAsked([
            `GET /network/v2.0/subnets?network_id=${existing.networkId}`,
            `GET /network/v2.0/subnets?id=${existing.subnetId}`,
        ]);
    });

    it("fails the preview of a network without a subnet with the component's message alone, before any resource", async () => {
        const project = await stack("bare", { ...network, "holodeck:networkId": bareNetworkId });
        const run = await preview(project, "--json");
        assertReportedError(run, `network ${bareNetworkId} has no subnet: add one, or leave holodeck:networkId empty`);
        assert.deepEqual(previewSteps(run.stdout), [], "no resource before the error");
        assertNeutronAsked([`GET /network/v2.0/subnets?network_id=${bareNetworkId}`]);
    });

    it("reports the cloud's refusal of the credentials while reading an existing network as an error alone, before any resource", async () => {
        const project = await stack("refused", { ...network, "holodeck:networkId": existing.networkId });
        await workspace.pulumiOk(project, "config", "set", "--secret", "openstack:password", `not-${password}`, "-s", "test");
        const run = await preview(project, "--json");
        assertReportedError(run, `could not read the subnets of network ${existing.networkId} (holodeck:networkId) from the cloud: `);
        assert.match(`${run.stdout}${run.stderr}`, /401|Unauthorized|authentication/i);
        assert.deepEqual(previewSteps(run.stdout), [], "no resource before the error");
        assertNeutronAsked([]);
    });

    it("reports an external network the cloud does not have as an error on the network alone", async () => {
        const project = await stack("no-external", { ...network, "holodeck:externalNetwork": "NO-SUCH-NET" });
        const run = await preview(project);
        assertReportedError(run, "could not find the external network 'NO-SUCH-NET' (holodeck:externalNetwork) in the cloud: ");
        assert.match(`${run.stdout}${run.stderr}`, /holodeck:index:Network \(net\):/);
    });

    it("passes the policy pack, created network or existing", async () => {
        const project = await stack("policy", network);
        for (const networkId of [undefined, existing.networkId]) {
            if (networkId) await workspace.pulumiOk(project, "config", "set", "holodeck:networkId", networkId, "-s", "test");
            const run = await preview(project, "--policy-pack", policyPack);
            const output = `${run.stdout}${run.stderr}`;
            assert.equal(run.status, 0, output);
            // The pack ran (and found nothing): the CLI lists it as passed.
            assert.match(output, /^\s+✅ holodeck@v\S+ \(local: .*\/policy\)$/m, output);
            assert.doesNotMatch(output, /Policy Violations|\[(mandatory|advisory)\]/, output);
            const lbRule = `net-app-servers-tcp-8000-from-${(networkId ? existing.cidr : network["holodeck:networkCidr"]).replace("/", "_")}`;
            assert.ok(output.includes(`openstack:networking:SecGroupRule ${lbRule} create`), output);
        }
    });

    /** The Neutron requests, as "METHOD path?query", were exactly `expected`, each with the issued token. */
    function assertNeutronAsked(expected: string[]): void {
        const neutron = cloud.neutronRequests;
        assert.deepEqual(neutron.map((request) => `${request.method} ${request.path}?${new URLSearchParams(Object.entries(request.query).flatMap(([key, values]) => values.map((value) => [key, value])))}`), expected);
        for (const request of neutron) assert.equal(request.headers["x-auth-token"], cloud.token, `${request.path}: the token Keystone issued`);
    }
});
