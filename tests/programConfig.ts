// The stack configuration the program tests run the real program with under mocks: a test stack
// that builds a commit, and a prod stack that promotes what the test stack verified.
export const commitA = "3f786850e387550fdab836ed7e6dc881de23001b";
export const commitB = "89e6c98d92887913cadf06b2adb97f26cde4849b";
export const adminCidr = "203.0.113.0/24";

export const testConfig: Readonly<Record<string, string>> = {
    "openstack:authUrl": "https://keystone.api.sjc3.rackspacecloud.com/v3",
    "openstack:region": "SJC3",
    "holodeck:appRepo": "https://git.example.com/org/holodeck-hello.git",
    "holodeck:commit": commitA,
    "holodeck:appService": "holodeck-hello --host 0.0.0.0 --port 8000",
    "holodeck:imageId": "5f3c1a52-9d0e-4c1b-8a55-0a8f1e2b3c4d",
    "holodeck:flavor": "gp.0.2.4",
    "holodeck:adminCidr": adminCidr,
    "holodeck:serverCount": "3",
    "holodeck:appConfig": JSON.stringify({ greeting: "Hello from test" }),
    "holodeck:appSecrets": JSON.stringify({ api_token: "t0ps3cret-api-token" }),
    "holodeck:checkFile": "examples/hello/holodeck-checks.yaml",
};

export const prodConfig: Readonly<Record<string, string>> = {
    "openstack:authUrl": "https://keystone.api.dfw3.rackspacecloud.com/v3",
    "holodeck:artifactSource": "promote",
    "holodeck:promoteFrom": "acme/holodeck/test",
    "holodeck:imageId": "5f3c1a52-9d0e-4c1b-8a55-0a8f1e2b3c4d",
    "holodeck:flavor": "gp.0.4.8",
    "holodeck:adminCidr": adminCidr,
    "holodeck:loadBalancer": "true",
    "holodeck:appConfig": JSON.stringify({ greeting: "Hello from prod" }),
    "holodeck:checkFile": "examples/hello/holodeck-checks.yaml",
};

/** What a test stack that verified commitA's artifact exports. */
export const verifiedArtifact = {
    artifact: {
        commit: commitA, version: "1.0.0+git20260102.3f78685", projectVersion: "1.0.0", packageName: "holodeck-hello",
        sha256: "ab".repeat(32), url: "https://swift.example/v1/AUTH_x/c/a.deb?sig",
    },
    verification: { sha256: "ab".repeat(32), commit: commitA, passed: true, checks: 9, failures: 0, at: "2026-11-25T10:00:00Z" },
};
