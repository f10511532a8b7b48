import fc from "fast-check";
import { SignalSeries } from "../../web/signal_series.ts";
import { assertEquals } from "../_helpers/assert.ts";

Deno.test("SignalSeries holds each series' last value per bucket on one time grid", () => {
  const series = new SignalSeries({ resolution: 1, capacity: 10 });
  const a = series.add("A");
  series.push(a, 100.2, 1);
  series.push(a, 100.7, 2); // same bucket: the last value wins
  const b = series.add("B");
  series.push(b, 102.5, 7);
  series.push(a, 103.0, 3);
  assertEquals(series.window(60), [
    [100, 101, 102, 103],
    [2, 2, 2, 3],
    [null, null, 7, 7],
  ]);
  assertEquals(series.window(1.5), [[101, 102, 103], [2, 2, 3], [null, 7, 7]]);
  assertEquals(series.add("A"), a);
  series.remove("A");
  assertEquals(series.keys, ["B"]);
  assertEquals(series.window(60), [[100, 101, 102, 103], [null, null, 7, 7]]);
});

Deno.test("SignalSeries keeps at most twice its capacity and restarts after a long silence", () => {
  const series = new SignalSeries({ resolution: 1, capacity: 5 });
  const a = series.add("A");
  for (let t = 0; t < 100; t++) series.push(a, t, t);
  const [times, values] = series.window(Infinity);
  assertEquals(times.length <= 10 && times.length >= 5, true);
  assertEquals(values.at(-1), 99);
  series.push(a, 1000, 5);
  assertEquals(series.window(Infinity), [[1000], [5]]);
  series.push(a, 10, 1); // older than anything kept: dropped
  assertEquals(series.window(Infinity), [[1000], [5]]);
  series.clear();
  assertEquals(series.window(Infinity), [[], []]);
});

Deno.test("SignalSeries: the newest value of a series is the last of its window", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.nat({ max: 2 }), fc.double({ min: 0, max: 50, noNaN: true }), fc.integer()),
        {
          minLength: 1,
        },
      ),
      (pushes) => {
        const series = new SignalSeries({ resolution: 0.1, capacity: 1000 });
        const indexes = ["A", "B", "C"].map((k) => series.add(k));
        pushes.sort((x, y) => x[1] - y[1]);
        const last = new Map<number, number>();
        for (const [i, t, v] of pushes) {
          series.push(indexes[i], t, v);
          last.set(i, v);
        }
        const [times, ...values] = series.window(Infinity);
        assertEquals(times.every((t, j) => j === 0 || t > times[j - 1]), true);
        for (const [i, v] of last) assertEquals(values[i].at(-1), v);
      },
    ),
  );
});
