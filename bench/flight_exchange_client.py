"""The pyarrow side of bench/flight.ts (c): DoExchange latency seen by
Arrow's own C++ Flight client, beside the Bun client's, against the same
server and the same batch.

Usage: flight_exchange_client.py <grpc://host:port> <batch.arrow>
Then one command per stdin line, "<events/s> <seconds>": one DoExchange call
that writes the file's batch on schedule (open loop: a batch goes out on time
whether or not earlier replies came) for that long, then drains for up to
60 s. One JSON line on stdout per command:
{"sent", "replies", "achieved", "p50", "p99", "max", "reply_bytes"}, latencies
in ms from a batch's write to its reply. Exits at end of input.

A reader thread takes the replies: pyarrow releases the GIL while it blocks
in read_chunk and write_batch, so the writer's schedule does not wait on it.
"""

import json
import sys
import threading
import time

import pyarrow as pa
import pyarrow.flight as flight

DRAIN_SECONDS = 60.0


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def exchange_at(client, batch, rate, seconds):
    writer, reader = client.do_exchange(flight.FlightDescriptor.for_path("bench", "exchange-pyarrow", str(rate)))
    writer.begin(batch.schema)
    sent, latencies, reply_bytes = [], [], [0]

    def read():
        try:
            while True:
                chunk = reader.read_chunk()
                if chunk.data is None:
                    continue
                latencies.append(time.perf_counter() - sent[len(latencies)])
                reply_bytes[0] += chunk.data.nbytes
        except StopIteration:
            pass

    replies = threading.Thread(target=read, daemon=True)
    replies.start()
    interval = batch.num_rows / rate
    total = round(seconds / interval)
    started = time.perf_counter()
    for i in range(total):
        wait = started + i * interval - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        sent.append(time.perf_counter())
        writer.write_batch(batch)
    writer.done_writing()
    replies.join(DRAIN_SECONDS)
    elapsed = time.perf_counter() - started
    writer.close()
    ordered = sorted(latencies)
    return {
        "sent": total,
        "replies": len(latencies),
        "achieved": len(latencies) * batch.num_rows / elapsed,
        "p50": percentile(ordered, 0.5) * 1000,
        "p99": percentile(ordered, 0.99) * 1000,
        "max": percentile(ordered, 1.0) * 1000,
        "reply_bytes": reply_bytes[0] / max(1, len(latencies)),
    }


def main():
    url, path = sys.argv[1], sys.argv[2]
    with pa.OSFile(path, "rb") as source:
        batch = pa.ipc.open_file(source).get_batch(0)
    client = flight.FlightClient(url)
    for line in sys.stdin:
        rate, seconds = line.split()
        print(json.dumps(exchange_at(client, batch, int(rate), float(seconds))), flush=True)


if __name__ == "__main__":
    main()
