import { describe, expect, test } from "bun:test";
import { IpcDecoder, IpcEncoder, InvalidIpc, encapsulatedSchema, jsonColumnSpans, schemaFromEncapsulated } from "../../src/flight/ipc.ts";
import {
  decodeFlightData,
  decodeFlightInfo,
  encodeFlightData,
  encodeFlightInfo,
  pathDescriptor,
  type FlightData,
} from "../../src/flight/protocol.ts";
import { Bool, Dictionary, Int32, List, Field, Null, Struct, Table, Utf8, vectorFromArray, type Vector } from "apache-arrow";
import { exportRecordBatch, importRecordBatch } from "../../src/batch/c-data.ts";
import { roundTripDescription, roundTripRecords } from "../../src/native/engine.ts";
import { eventsBatch } from "./helpers.ts";

describe("Flight codec", () => {
  test("FlightData round trip keeps header and body as views of the received buffer", () => {
    const body = [new Uint8Array(1000).fill(7), new Uint8Array(24).fill(9)];
    const wire = encodeFlightData({ descriptor: pathDescriptor("a", "b"), dataHeader: new Uint8Array([1, 2, 3]), appMetadata: new Uint8Array([4]), dataBody: body });
    const decoded = decodeFlightData(wire);
    expect(decoded.descriptor?.path).toEqual(["a", "b"]);
    expect([...decoded.dataHeader]).toEqual([1, 2, 3]);
    expect([...decoded.appMetadata]).toEqual([4]);
    expect(decoded.dataBody.length).toBe(1024);
    expect(decoded.dataBody[999]).toBe(7);
    expect(decoded.dataBody[1000]).toBe(9);
    expect(decoded.dataBody.buffer).toBe(wire.buffer); // no copy
  });

  test("a FlightData body lands 8-byte aligned behind the 5-byte gRPC prefix, whatever precedes it", () => {
    const body = new Uint8Array(64).fill(3);
    for (let headerLength = 1; headerLength <= 24; headerLength++) {
      for (const metadataLength of [0, 1, 7, 200]) {
        const wire = encodeFlightData({ descriptor: headerLength % 2 === 0 ? pathDescriptor("p") : null, dataHeader: new Uint8Array(headerLength), appMetadata: new Uint8Array(metadataLength), dataBody: body });
        const decoded = decodeFlightData(wire);
        const bodyStart = decoded.dataBody.byteOffset - wire.byteOffset;
        expect((5 + bodyStart) % 8).toBe(0);
        expect(decoded.dataBody).toEqual(body);
        expect(decoded.dataHeader.length).toBe(headerLength);
        expect(decoded.appMetadata.length).toBe(metadataLength);
      }
    }
  });

  test("FlightInfo round trip, including the -1 'unknown' int64", () => {
    const info = { schema: new Uint8Array([1]), descriptor: pathDescriptor("x"), endpoints: [{ ticket: { ticket: new Uint8Array([5]) }, locations: ["grpc://h:1"] }], totalRecords: 12, totalBytes: -1, ordered: true, appMetadata: new Uint8Array(0) };
    const back = decodeFlightInfo(encodeFlightInfo(info));
    expect(back.totalRecords).toBe(12);
    expect(back.totalBytes).toBe(-1);
    expect(back.endpoints[0]?.locations).toEqual(["grpc://h:1"]);
    expect(back.ordered).toBe(true);
  });

  test("record batches survive encode → FlightData → decode", () => {
    const batch = eventsBatch(["a", "evil", "c"]);
    const decoder = new IpcDecoder();
    const out = [];
    for (const m of new IpcEncoder(pathDescriptor("s")).batch(batch)) {
      const d = decoder.push(decodeFlightData(encodeFlightData(m)));
      if (d?.kind === "batch") out.push(d.records.record());
    }
    expect(out.length).toBe(1);
    expect(out[0]?.toArray().map((r) => r.toJSON())).toEqual([
      { CommandLine: "a", Pid: 0 },
      { CommandLine: "evil", Pid: 1 },
      { CommandLine: "c", Pid: 2 },
    ]);
    expect(decoder.descriptor?.path).toEqual(["s"]);
    expect(schemaFromEncapsulated(encapsulatedSchema(batch.schema))?.fields.map((f) => f.name)).toEqual(["CommandLine", "Pid"]);
  });

  test("a record batch reaches the addon as received: its arrays are regions of the message, misaligned or not", () => {
    const columns: Record<string, Vector> = {
      CommandLine: vectorFromArray(["a", null, "ccc", ""], new Utf8()),
      Pid: vectorFromArray([1, 2, null, 4], new Int32()),
      Elevated: vectorFromArray([true, null, false, true], new Bool()),
      Args: vectorFromArray([["x"], [], null, ["y", "z"]], new List(new Field("item", new Utf8(), true))),
      Channel: vectorFromArray(["Security", "System", "Security", null], new Dictionary(new Utf8(), new Int32())),
      Process: vectorFromArray([{ Name: "a.exe", Id: 1 }, null, { Name: null, Id: 3 }, { Name: "d.exe", Id: null }], new Struct([new Field("Name", new Utf8(), true), new Field("Id", new Int32(), true)])),
      Nothing: vectorFromArray([null, null, null, null], new Null()),
    };
    const batch = new Table(columns).batches[0]!;
    const want = importRecordBatch(roundTripDescription(exportRecordBatch(batch))).toArray().map((r) => JSON.stringify(r));
    // Other clients lay their messages out as they like: the received message at every alignment in turn.
    const offsets = new Set<number>();
    for (let shift = 0; shift < 8; shift++) {
      const decoder = new IpcDecoder();
      let records = null;
      let batchMessage: Uint8Array | null = null;
      for (const m of new IpcEncoder(pathDescriptor("s")).batch(batch)) {
        const wire = encodeFlightData(m);
        const received = new Uint8Array(wire.length + 8);
        received.set(wire, shift);
        const data = decodeFlightData(received.subarray(shift, shift + wire.length));
        if (data.dataBody.length > 0) offsets.add(data.dataBody.byteOffset % 8);
        const d = decoder.push(data);
        if (d?.kind === "batch") {
          records = d.records;
          batchMessage = received;
        }
      }
      if (records === null) throw new Error("no batch");
      // It crosses into the addon as two buffers, with no copies: the received message, and the dictionary (sent in its own message).
      const { backings } = records.packed();
      expect(backings).toHaveLength(2);
      expect(backings[0]?.buffer).toBe(batchMessage?.buffer as ArrayBufferLike);
      expect(importRecordBatch(roundTripRecords(records)).toArray().map((r) => JSON.stringify(r))).toEqual(want);
      expect(records.record().toArray().map((r) => JSON.stringify(r))).toEqual(batch.toArray().map((r) => JSON.stringify(r)));
    }
    expect(offsets.size).toBe(8);
  });

  test("malformed payloads raise InvalidIpc, never a crash", () => {
    const batch = eventsBatch(["x", "y"]);
    const messages = new IpcEncoder().batch(batch).map((m) => decodeFlightData(encodeFlightData(m)));
    const [schema, record] = messages as [FlightData, FlightData];
    // Garbage header.
    expect(() => new IpcDecoder().push({ ...schema, dataHeader: new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]) })).toThrow(InvalidIpc);
    // A record batch before any schema.
    expect(() => new IpcDecoder().push(record)).toThrow(InvalidIpc);
    // Truncated body.
    const d = new IpcDecoder();
    d.push(schema);
    expect(() => d.push({ ...record, dataBody: record.dataBody.subarray(0, 4) })).toThrow(InvalidIpc);
    // Corrupted offsets: make the Utf8 offsets run past the data. The description is laid
    // out as received; the addon refuses it, and so does the JS loader.
    const body = new Uint8Array(record.dataBody);
    const view = new DataView(body.buffer);
    for (let i = 0; i < 3; i++) view.setInt32(i * 4, 1_000_000 * i, true);
    const d2 = new IpcDecoder();
    d2.push(schema);
    const corrupted = d2.push({ ...record, dataBody: body });
    if (corrupted?.kind !== "batch") throw new Error("expected a record batch");
    expect(() => corrupted.records.record()).toThrow(InvalidIpc);
    expect(() => roundTripRecords(corrupted.records)).toThrow(/invalid/i);
  });
});

describe("JSON column batches", () => {
  const text = (source: Uint8Array, spans: Uint32Array): string[] =>
    Array.from({ length: spans.length / 2 }, (_, r) => new TextDecoder().decode(source.subarray(spans[2 * r], spans[2 * r + 1])));

  test("rows are spans of the column's own buffer; a null row is an empty span", () => {
    const batch = new Table({ json: vectorFromArray(['{"a":1}', null, '{"b":"x"}'], new Utf8()) }).batches[0]!;
    const { source, spans } = jsonColumnSpans(batch);
    expect(source).toBe(batch.getChildAt(0)!.data[0]!.values as Uint8Array);
    expect(text(source, spans)).toEqual(['{"a":1}', "", '{"b":"x"}']);
  });

  test("a sliced batch's spans are its own rows", () => {
    const whole = new Table({ json: vectorFromArray(['{"a":1}', '{"b":2}', null, '{"d":4}'], new Utf8()) }).batches[0]!;
    const { source, spans } = jsonColumnSpans(whole.slice(1, 4));
    expect(text(source, spans)).toEqual(['{"b":2}', "", '{"d":4}']);
  });
});
