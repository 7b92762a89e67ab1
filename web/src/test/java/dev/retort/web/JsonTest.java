package dev.retort.web;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonObject;
import dev.retort.api.run.RunEvent;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void noRunIsStateNone() {
        assertEquals("{\"id\":null,\"state\":\"NONE\"}", Json.run(null, Map.of()).toString());
    }

    @Test
    void anEventKeepsItsMetricsInOrderAndNonFiniteValuesBecomeNull() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("ce", 1.25);
        m.put("pea.1", Double.NaN);
        m.put("total", Double.POSITIVE_INFINITY);
        JsonObject o = Json.event(new RunLog.Entry(7, new RunEvent("r", RunEvent.Type.STEP, 3, 1, Instant.parse("2026-01-02T03:04:05Z"), m, "")));
        assertEquals("{\"seq\":7,\"run\":\"r\",\"type\":\"STEP\",\"step\":3,\"epoch\":1,\"time\":\"2026-01-02T03:04:05Z\","
                + "\"metrics\":{\"ce\":1.25,\"pea.1\":null,\"total\":null},\"message\":\"\"}", o.toString());
    }
}
