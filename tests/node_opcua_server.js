// An OPC UA server of another stack than asyncua (node-opcua, from npm), for
// tests/e2e/test_gateway_foreign_servers.py: a press whose count rises every 100 ms to N and whose
// PackML state switches between Execute (6) and Suspended (5) every 20 counts; then it holds.
// Prints "ready" when serving; counts from SIGUSR2 on; prints the final values as JSON.
//   node tests/node_opcua_server.js PORT N
const { OPCUAServer } = require("node-opcua-server");
const { DataType } = require("node-opcua-variant");
const { nodesets } = require("node-opcua-nodesets");

(async () => {
  const port = parseInt(process.argv[2], 10);
  const n = parseInt(process.argv[3], 10);
  const server = new OPCUAServer({
    port,
    hostname: "127.0.0.1",
    resourcePath: "/UA/press",
    nodeset_filename: [nodesets.standard],
    buildInfo: { productName: "fieldlab-kit node-opcua test server" },
  });
  await server.initialize();
  const space = server.engine.addressSpace;
  const ns = space.registerNamespace("urn:fieldlab-test:node-opcua");
  const press = ns.addObject({ organizedBy: space.rootFolder.objects, browseName: "Press1" });
  const state = ns.addVariable({
    componentOf: press, browseName: "State", nodeId: "s=Press1.State", dataType: "Int32",
    minimumSamplingInterval: 50,
  });
  const count = ns.addVariable({
    componentOf: press, browseName: "CountTotal", nodeId: "s=Press1.CountTotal",
    dataType: "UInt32", minimumSamplingInterval: 50,
  });
  let c = 0;
  let s = 6;
  state.setValueFromSource({ dataType: DataType.Int32, value: s });
  count.setValueFromSource({ dataType: DataType.UInt32, value: c });
  await server.start();
  console.log("ready");
  process.on("SIGUSR2", () => { // go: the test's gateway is connected
  const timer = setInterval(() => {
    c += 1;
    count.setValueFromSource({ dataType: DataType.UInt32, value: c });
    if (c % 20 === 0) {
      s = s === 6 ? 5 : 6;
      state.setValueFromSource({ dataType: DataType.Int32, value: s });
    }
    if (c >= n) {
      clearInterval(timer);
      console.log(JSON.stringify({ count: c, state: s }));
    }
  }, 100);
  });
  process.on("SIGTERM", async () => { await server.shutdown(100); process.exit(0); });
})();
