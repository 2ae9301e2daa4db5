// The docker substrate's plain data: the address plan of the stack's network and the NoCloud meta-data.
import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { addressPlan, renderMetaData } from "../lib/containerServers";

describe("docker substrate data", () => {
    it("puts the gateway first, the fixed servers after it and app servers in the upper half", () => {
        assert.deepEqual(addressPlan("10.80.0.0/24"), {
            subnet: "10.80.0.0/24",
            gateway: "10.80.0.1",
            fixed: { "salt-master": "10.80.0.2", "build-minion": "10.80.0.3", "artifact-store": "10.80.0.4", balancer: "10.80.0.5" },
            dynamicRange: "10.80.0.128/25",
            storeEndpoint: "10.80.0.1:8480",
        });
        assert.deepEqual(addressPlan("172.30.4.32/27").dynamicRange, "172.30.4.48/28");
        assert.equal(addressPlan("10.0.0.0/8").fixed.balancer, "10.0.0.5");
    });

    it("refuses a network that is not a canonical IPv4 CIDR, or too small", () => {
        assert.throws(() => addressPlan("10.80.0.1/24"), /holodeck:networkCidr '10\.80\.0\.1\/24' has host bits set: use 10\.80\.0\.0\/24/);
        assert.throws(() => addressPlan("10.80.0.0/28"), /too small for the docker substrate: use a \/27 or wider/);
    });

    it("gives cloud-init the instance id and the admin key, nothing else", () => {
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE9j admin\n";
        assert.deepEqual(parse(renderMetaData("salt-master-host-server-1f2e", key)), {
            "instance-id": "salt-master-host-server-1f2e", "public-keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE9j admin"],
        });
        assert.throws(() => renderMetaData("a b", key), /instance id "a b" must be letters/);
        assert.throws(() => renderMetaData("server-1", "not a key"), /one OpenSSH public key line/);
    });
});
