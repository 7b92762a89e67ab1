package dev.retort.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.retort.api.run.RunEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    @Test
    void aStudyArmsCurvesAreThinnedToAtMost2000Points(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("rows"));
        StringBuilder losses = new StringBuilder();
        for (int i = 0; i < 4001; i++) losses.append(i == 0 ? "" : ",").append(i);
        Files.writeString(dir.resolve("rows/arm-002.json"), "{\"arm\":2,\"name\":\"b\",\"losses\":[" + losses + "]}");
        Files.writeString(dir.resolve("rows/arm-001.json"), "{\"arm\":1,\"name\":\"a\",\"losses\":[1.0,null,0.5]}");
        Files.writeString(dir.resolve("rows/notes.txt"), "not a row");
        JsonArray rows = Json.study(dir).getAsJsonArray("rows");
        assertEquals(2, rows.size());
        assertEquals("a", rows.get(0).getAsJsonObject().get("name").getAsString());  // arm order
        assertEquals("[1.0,null,0.5]", rows.get(0).getAsJsonObject().get("losses").toString());
        assertEquals(1, rows.get(0).getAsJsonObject().get("loss_stride").getAsInt());
        // 4,001 values: stride ceil(4001 / 2000) = 3, so steps 0, 3, …, 3999: 1,334 points
        JsonObject b = rows.get(1).getAsJsonObject();
        assertEquals(3, b.get("loss_stride").getAsInt());
        assertEquals(1334, b.getAsJsonArray("losses").size());
        assertEquals(3999.0, b.getAsJsonArray("losses").get(1333).getAsDouble());
        assertTrue(Json.study(dir.resolve("nowhere")).getAsJsonArray("rows").isEmpty());
    }
}
