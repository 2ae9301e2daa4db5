// The policy pack's entry point: `pulumi preview --policy-pack policy` runs this module, which
// serves Holodeck's policies (./policies) to the engine over gRPC.
import { PolicyPack } from "@pulumi/policy";
import { holodeckPolicies } from "./policies";

new PolicyPack("holodeck", {
    description: "Holodeck's guard rails: no SSH or Salt ports open to the world, servers replaced without downtime, "
        + "releases named in app servers' user data, prod images by ID, private artifact containers, no secrets in command lines.",
    enforcementLevel: "mandatory",
    policies: holodeckPolicies(),
});
