import { afterEach, describe, expect, test } from "bun:test";
import { Table, Utf8, vectorFromArray } from "apache-arrow";
import { DoPutWriter, FlightClient } from "../../src/flight/client.ts";
import { IpcDecoder, IpcEncoder } from "../../src/flight/ipc.ts";
import { pathDescriptor, type FlightData } from "../../src/flight/protocol.ts";
import { eventsBatch, runServer, type Running } from "./helpers.ts";

let running: Running | null = null;
const clients: FlightClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  if (running !== null) {
    const { open } = await running.close();
    running = null;
    expect(open).toBe(0);
  }
});

function client(address: string, token?: string): FlightClient {
  const c = new FlightClient(address, token === undefined ? {} : { token });
  clients.push(c);
  return c;
}

describe("flight server", () => {
  test("DoPut acks each batch with its match count, DoGet returns the matches", async () => {
    running = await runServer();
    const c = client(running.address);
    const put = new DoPutWriter(c, ["hosts", "a"]);
    const first = await put.put(eventsBatch(["ls", "evil.exe", "evil --x"]));
    const second = await put.put(eventsBatch(["pwd"]));
    expect(JSON.parse(new TextDecoder().decode(await first.acknowledged))).toEqual({ batch: 0, matches: 2 });
    expect(JSON.parse(new TextDecoder().decode(await second.acknowledged))).toEqual({ batch: 1, matches: 0 });
    await put.end();
    const batches = [];
    for await (const b of c.getBatches(new TextEncoder().encode("hosts/a"))) batches.push(b);
    expect(batches.length).toBe(1);
    const rows = batches[0]!.toArray().map((r) => r.toJSON());
    expect(rows.map((r) => r.row)).toEqual([1, 2]);
    expect(rows[0]!.rule_id).toBe("r-1");
    expect(rows[0]!.CommandLine).toBe("evil.exe");
    expect([...(rows[0]!.rule_tags as Iterable<string>)]).toEqual(["attack.t1059"]);
    const infos = await c.listFlights();
    expect(infos.map((i) => Buffer.from(i.endpoints[0]!.ticket.ticket).toString())).toEqual(["hosts/a"]);
    expect(infos[0]!.totalRecords).toBe(2);
    const info = await c.getFlightInfo("hosts", "a");
    expect(info.totalRecords).toBe(2);
  });

  test("JSON column batches take the JSON path", async () => {
    running = await runServer();
    const c = client(running.address);
    const put = new DoPutWriter(c, ["json"]);
    const table = new Table({ json: vectorFromArray(['{"CommandLine":"evil"}', '{"CommandLine":"ok"}'], new Utf8()) });
    const ack = await put.put(table.batches[0]!);
    expect(JSON.parse(new TextDecoder().decode(await ack.acknowledged))).toEqual({ batch: 0, matches: 1 });
    await put.end();
  });

  test("DoExchange answers each batch in order", async () => {
    running = await runServer();
    const c = client(running.address);
    const call = c.doExchange();
    const encoder = new IpcEncoder(pathDescriptor("ex"));
    const decoder = new IpcDecoder();
    const received: number[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on("data", (m: FlightData) => {
        const d = decoder.push(m);
        if (d?.kind === "batch") received.push(d.records.numRows);
      });
      call.on("end", () => resolve());
      call.on("error", reject);
    });
    for (const cmds of [["evil"], ["a", "b"], ["evil", "evil", "x"]]) for (const m of encoder.batch(eventsBatch(cmds))) call.write(m);
    call.end();
    await done;
    expect(received).toEqual([1, 0, 2]);
    // The exchange's caller has its matches; the DoGet ring keeps only what nobody received.
    expect(await c.listFlights()).toEqual([]);
  });

  test("DoExchange of JSON documents answers each batch with the matched documents", async () => {
    running = await runServer();
    const c = client(running.address);
    const call = c.doExchange();
    const encoder = new IpcEncoder(pathDescriptor("ex-json"));
    const decoder = new IpcDecoder();
    const received: string[][] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on("data", (m: FlightData) => {
        const d = decoder.push(m);
        if (d?.kind === "batch") received.push(d.records.record().getChild("event")?.toArray().map(String) ?? []);
      });
      call.on("end", () => resolve());
      call.on("error", reject);
    });
    const documents = [['{"CommandLine":"evil 1"}', null], ['{"CommandLine":"ok"}'], ['{"CommandLine":"ok"}', '{"CommandLine":"evil 2"}']];
    for (const batch of documents) for (const m of encoder.batch(new Table({ json: vectorFromArray(batch, new Utf8()) }).batches[0]!)) call.write(m);
    call.end();
    await done;
    expect(received).toEqual([['{"CommandLine":"evil 1"}'], [], ['{"CommandLine":"evil 2"}']]);
  });

  test("a malformed IPC payload fails the call, the server keeps serving", async () => {
    running = await runServer();
    const c = client(running.address);
    const call = c.doPut();
    const failed = new Promise<number>((resolve) => call.on("error", (e: { code: number }) => resolve(e.code)));
    call.on("data", () => {});
    call.write({ descriptor: pathDescriptor("bad"), dataHeader: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) });
    call.end();
    expect(await failed).toBe(3); // INVALID_ARGUMENT
    const put = new DoPutWriter(c, ["good"]);
    expect(JSON.parse(new TextDecoder().decode(await (await put.put(eventsBatch(["evil"]))).acknowledged))).toEqual({ batch: 0, matches: 1 });
    await put.end();
  });

  test("with a token, calls need it; actions work with it", async () => {
    running = await runServer({ token: "s3cret" });
    const anonymous = client(running.address);
    await expect(anonymous.listActions()).rejects.toMatchObject({ code: 16 });
    const wrong = client(running.address, "nope");
    await expect(wrong.doAction("status")).rejects.toMatchObject({ code: 16 });
    const good = client(running.address, "s3cret");
    expect((await good.listActions()).map((a) => a.type)).toEqual(["status", "rules", "reload"]);
    const [rules] = await good.doAction("rules");
    expect(JSON.parse(new TextDecoder().decode(rules))[0].id).toBe("r-1");
    const [reload] = await good.doAction("reload");
    expect(JSON.parse(new TextDecoder().decode(reload))).toEqual({ reloaded: true });
    const schema = await good.getSchema("input");
    expect(schema?.fields.map((f) => f.name)).toEqual(["CommandLine", "Image"]);
  });
});
