import { describe, expect, test } from "bun:test";
import { Bool, Dictionary, Field, Int32, List, Message, MessageHeader, Struct, Table, Utf8, vectorFromArray } from "apache-arrow";
import type { RecordBatch as RecordBatchHeader } from "apache-arrow/ipc/metadata/message";
import { MalformedHeader, readRecordBatchLayout } from "../../src/flight/batch-header.ts";
import { IpcEncoder } from "../../src/flight/ipc.ts";

/** The IPC messages (flatbuffer headers) of one encoded table, in stream order. */
function headers(table: Table): { header: Uint8Array; type: MessageHeader }[] {
  const batch = table.batches[0];
  if (batch === undefined) throw new Error("empty table");
  return new IpcEncoder().batch(batch).map((m) => ({ header: m.dataHeader, type: Message.decode(m.dataHeader).headerType }));
}

function mixedTable(rows: number): Table {
  const text = Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? null : `value ${i}`));
  return new Table({
    text: vectorFromArray(text, new Utf8()),
    flag: vectorFromArray(Array.from({ length: rows }, (_, i) => i % 2 === 0), new Bool()),
    count: vectorFromArray(Array.from({ length: rows }, (_, i) => i), new Int32()),
    list: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 4 === 0 ? null : [`a${i}`, `b${i}`])), new List(new Field("item", new Utf8(), true))),
    nested: vectorFromArray(
      Array.from({ length: rows }, (_, i) => ({ inner: i % 5 === 0 ? null : `n${i}` })),
      new Struct([new Field("inner", new Utf8(), true)]),
    ),
    coded: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 2 === 0 ? "x" : "y")), new Dictionary(new Utf8(), new Int32())),
  });
}

describe("RecordBatch headers read without apache-arrow", () => {
  test("agree with apache-arrow's decoding on length, body, nodes and regions", () => {
    for (const rows of [0, 1, 7, 1000]) {
      const batchMessages = headers(mixedTable(rows)).filter((m) => m.type === MessageHeader.RecordBatch);
      expect(batchMessages.length).toBe(1);
      for (const { header } of batchMessages) {
        const layout = readRecordBatchLayout(header);
        const message = Message.decode(header);
        const reference = message.header() as RecordBatchHeader;
        expect(layout).not.toBeNull();
        expect(layout?.length).toBe(reference.length);
        expect(layout?.bodyLength).toBe(message.bodyLength);
        expect(layout?.compressed).toBe(false);
        expect([...(layout?.nodes ?? [])]).toEqual(reference.nodes.flatMap((n) => [n.length, n.nullCount]));
        expect([...(layout?.buffers ?? [])]).toEqual(reference.buffers.flatMap((b) => [b.offset, b.length]));
      }
    }
  });

  test("other message types are left to apache-arrow", () => {
    const others = headers(mixedTable(10)).filter((m) => m.type !== MessageHeader.RecordBatch);
    expect(others.map((m) => m.type).sort()).toEqual([MessageHeader.Schema, MessageHeader.DictionaryBatch].sort());
    for (const { header } of others) expect(readRecordBatchLayout(header)).toBeNull();
  });

  test("a truncated or corrupted header is refused, never read past", () => {
    const header = headers(mixedTable(50)).find((m) => m.type === MessageHeader.RecordBatch)?.header;
    if (header === undefined) throw new Error("no record batch message");
    for (let cut = 0; cut < header.length; cut++) {
      const truncated = header.slice(0, cut);
      try {
        readRecordBatchLayout(truncated);
      } catch (error) {
        expect(error).toBeInstanceOf(MalformedHeader);
      }
    }
    // Every single-byte corruption either still reads (other values) or is refused; none escapes as another error.
    for (let at = 0; at < header.length; at++) {
      const corrupted = header.slice();
      corrupted[at] = (corrupted[at] ?? 0) ^ 0xff;
      try {
        readRecordBatchLayout(corrupted);
      } catch (error) {
        expect(error).toBeInstanceOf(MalformedHeader);
      }
    }
  });

  test("64-bit values beyond 2^53 are refused, not rounded", () => {
    const header = headers(mixedTable(3)).find((m) => m.type === MessageHeader.RecordBatch)?.header;
    if (header === undefined) throw new Error("no record batch message");
    const layout = readRecordBatchLayout(header);
    if (layout === null) throw new Error("not read");
    // Find the body length (an int64 equal to layout.bodyLength) and set its high word past 2^53.
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    let patched = false;
    for (let at = 0; at + 8 <= header.length; at += 4) {
      if (view.getUint32(at, true) === layout.bodyLength && view.getUint32(at + 4, true) === 0) {
        const copy = header.slice();
        new DataView(copy.buffer).setUint32(at + 4, 0x0040_0000, true);
        expect(() => readRecordBatchLayout(copy)).toThrow(MalformedHeader);
        patched = true;
        break;
      }
    }
    expect(patched).toBe(true);
  });
});
