package dev.retort.web;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunStatus;
import dev.retort.api.run.TrainingRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

/** The JSON the endpoints answer; names in snake_case as in {@code metrics.jsonl}; NaN and infinities become null. */
final class Json {
    /** A study arm's loss curve is thinned to at most this many points (every k-th step). */
    static final int MAX_CURVE_POINTS = 2000;

    private Json() {}

    /** The current run ({@code GET /api/run}); {@code run} null: {@code {"id": null, "state": "NONE"}}. */
    static JsonObject run(TrainingRun run, Map<String, Long> moduleParams) {
        JsonObject o = new JsonObject();
        if (run == null) {
            o.add("id", JsonNull.INSTANCE);
            o.addProperty("state", "NONE");
            return o;
        }
        RunStatus s = run.status();
        o.addProperty("id", run.id());
        o.addProperty("state", s.state().name());
        o.addProperty("step", s.step());
        o.addProperty("total_steps", s.totalSteps());
        o.addProperty("epoch", s.epoch());
        o.addProperty("device", s.device());
        o.add("images_per_s", number(s.imagesPerSecond()));
        o.add("elapsed_s", number(s.elapsed().toMillis() / 1000.0));
        o.add("eta_s", s.eta() == null ? JsonNull.INSTANCE : number(s.eta().toMillis() / 1000.0));
        o.add("losses", numbers(s.losses()));
        o.add("loss_weights", numbers(s.lossWeights()));
        JsonArray active = new JsonArray();
        s.activeModules().forEach(active::add);
        o.add("active_modules", active);
        JsonArray disabled = new JsonArray();
        new TreeSet<>(s.disabledModules()).forEach(disabled::add);
        o.add("disabled_modules", disabled);
        o.add("modules", modules(s, moduleParams));
        RunResult r = run.result();
        o.add("output", r == null || r.output() == null ? JsonNull.INSTANCE : new JsonPrimitive(r.output().toString()));
        return o;
    }

    /** Active modules in the run's order, then disabled ones by name, each with its trainable parameters when known. */
    static JsonArray modules(RunStatus s, Map<String, Long> moduleParams) {
        JsonArray a = new JsonArray();
        for (String name : s.activeModules()) a.add(module(name, true, moduleParams.get(name)));
        for (String name : new TreeSet<>(s.disabledModules())) {
            if (!s.activeModules().contains(name)) a.add(module(name, false, moduleParams.get(name)));
        }
        return a;
    }

    private static JsonObject module(String name, boolean active, Long params) {
        JsonObject m = new JsonObject();
        m.addProperty("name", name);
        m.addProperty("active", active);
        m.add("params", params == null ? JsonNull.INSTANCE : new JsonPrimitive(params));
        return m;
    }

    static JsonObject event(RunLog.Entry e) {
        RunEvent ev = e.event();
        JsonObject o = new JsonObject();
        o.addProperty("seq", e.seq());
        o.addProperty("run", ev.runId());
        o.addProperty("type", ev.type().name());
        o.addProperty("step", ev.step());
        o.addProperty("epoch", ev.epoch());
        o.addProperty("time", ev.time().toString());
        o.add("metrics", numbers(ev.metrics()));
        o.addProperty("message", ev.message());
        return o;
    }

    static JsonArray events(List<RunLog.Entry> entries) {
        JsonArray a = new JsonArray();
        entries.forEach(e -> a.add(event(e)));
        return a;
    }

    static JsonArray thin(JsonArray values, int stride) {
        if (stride <= 1) return values;
        JsonArray a = new JsonArray();
        for (int i = 0; i < values.size(); i += stride) a.add(values.get(i));
        return a;
    }

    static JsonObject numbers(Map<String, Double> values) {
        JsonObject o = new JsonObject();
        values.forEach((k, v) -> o.add(k, number(v == null ? Double.NaN : v)));
        return o;
    }

    static JsonElement number(double v) {
        return Double.isFinite(v) ? new JsonPrimitive(v) : JsonNull.INSTANCE;
    }

    /** An error answer: {@code {"error": "..."}}. */
    static JsonObject error(String message) {
        JsonObject o = new JsonObject();
        o.addProperty("error", message);
        return o;
    }
}
