package dev.retort.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.retort.api.run.Runner;
import dev.retort.api.run.TrainingRun;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectService;

/** The web bundle in the real framework: off until kd:web, then its endpoints on 127.0.0.1, their guards, and off again. */
class WebViewTest extends FrameworkTest {
    private static final String RUNTIME = "org.osgi.service.servlet.runtime.HttpServiceRuntime";

    @InjectService(timeout = 10_000)
    ConfigurationAdmin configAdmin;

    @InjectService(timeout = 10_000)
    Runner runner;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void offUntilAskedThenServesTheApiOnLoopbackWithItsGuardsAndStopsAgain(@TempDir Path dir) throws Exception {
        Bundle jetty = bundle("org.apache.felix.http.jetty12");
        assertEquals(Bundle.ACTIVE, jetty.getState(), "the HTTP server's bundle is active, but disabled");
        assertNull(context.getAllServiceReferences(RUNTIME, null), "no HTTP runtime before kd:web: nothing listens");
        assertNull(configAdmin.listConfigurations("(service.pid=org.apache.felix.http)"));

        // a study folder with one arm's row, as kd:ablate writes it: 5,000 losses are thinned to every 3rd (1,667 points)
        Path study = dir.resolve("study");
        Files.createDirectories(study.resolve("rows"));
        String losses = IntStream.range(0, 5000).mapToObj(i -> String.valueOf(i)).collect(Collectors.joining(","));
        Files.writeString(study.resolve("rows/arm-001.json"), "{\"arm\":1,\"name\":\"CSF only\",\"modules\":\"csf\",\"configuration\":\"\",\"miou\":0.25,"
                + "\"params\":1000,\"gflops\":0.5,\"extra_params\":10,\"ms_per_step\":12.5,\"wall_s\":3.0,\"steps\":5000,\"iou\":{\"road\":0.5},"
                + "\"losses\":[" + losses + "],\"ce_losses\":[" + losses + "]}\n");

        String out = Gogo.run(shell, "kd:web --study " + study + " 0");
        Matcher m = Pattern.compile("web view: (http://127\\.0\\.0\\.1:(\\d+)/)").matcher(out);
        assertTrue(m.find(), out);
        String base = m.group(1);
        int port = Integer.parseInt(m.group(2));
        assertNotNull(context.getAllServiceReferences(RUNTIME, null));

        // the Runner's current run: the last one another test ran in this framework, or none
        JsonObject run = json(get(base + "api/run"), 200);
        Optional<TrainingRun> last = runner.current();
        if (last.isEmpty()) {
            assertTrue(run.get("id").isJsonNull(), run.toString());
            assertEquals("NONE", run.get("state").getAsString());
        } else {
            assertEquals(last.get().id(), run.get("id").getAsString());
            assertEquals(last.get().status().state().name(), run.get("state").getAsString());
            assertEquals(last.get().status().step(), run.get("step").getAsLong());
        }

        JsonObject rows = json(get(base + "api/study"), 200);
        JsonObject row = rows.getAsJsonArray("rows").get(0).getAsJsonObject();
        assertEquals("CSF only", row.get("name").getAsString());
        assertEquals(3, row.get("loss_stride").getAsInt());
        assertEquals(1667, row.getAsJsonArray("losses").size());
        assertEquals(4998.0, row.getAsJsonArray("losses").get(1666).getAsDouble());

        // the page carries the process's token; a POST without it (another site's form) is refused
        HttpResponse<String> page = get(base);
        assertEquals(200, page.statusCode());
        Matcher t = Pattern.compile("name=\"retort-token\" content=\"([0-9a-f]{32})\"").matcher(page.body());
        assertTrue(t.find(), page.body());
        HttpResponse<String> forged = post(base + "api/modules/csf/disable", null);
        assertEquals(403, forged.statusCode(), forged.body());
        assertTrue(forged.body().contains("missing or wrong X-Retort-Token header"), forged.body());
        assertEquals(403, post(base + "api/modules/csf/disable", "0".repeat(32)).statusCode());
        HttpResponse<String> noRun = post(base + "api/modules/csf/disable", t.group(1));
        assertEquals(409, noRun.statusCode(), noRun.body());
        assertTrue(json(noRun, 409).get("error").getAsString().startsWith("no run in progress"), noRun.body());

        // a page of another site that rebinds its own name to 127.0.0.1 sends that name as Host: not answered
        assertTrue(rawGet(port, "evil.example:" + port).startsWith("HTTP/1.1 403"));
        assertTrue(rawGet(port, "localhost:" + port).startsWith("HTTP/1.1 200"));

        assertEquals("web view stopped", Gogo.run(shell, "kd:web --stop").strip());
        long deadline = System.currentTimeMillis() + 10_000;
        while (context.getAllServiceReferences(RUNTIME, null) != null && System.currentTimeMillis() < deadline) Thread.sleep(50);
        assertNull(context.getAllServiceReferences(RUNTIME, null));
        assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close(), "nothing listens after kd:web --stop");
    }

    @Test
    void aBadPortOrHostIsNamed() throws Exception {
        Exception port = assertThrows(Exception.class, () -> Gogo.run(shell, "kd:web 70000"));
        assertEquals("port must be a number from 0 to 65535, got 70000", port.getMessage());
        Exception study = assertThrows(Exception.class, () -> Gogo.run(shell, "kd:web --study /no/such/folder 0"));
        assertTrue(study.getMessage().startsWith("--study /no/such/folder: no such folder"), study.getMessage());
        assertNull(context.getAllServiceReferences(RUNTIME, null));
    }

    private HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String url, String token) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.noBody());
        if (token != null) b.header("X-Retort-Token", token);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonObject json(HttpResponse<String> r, int status) {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.headers().toString());
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    /** java.net.http will not send a Host header of our choosing: a plain socket does. */
    private static String rawGet(int port, String host) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream o = s.getOutputStream();
            o.write(("GET /api/run HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            o.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
