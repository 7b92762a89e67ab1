package dev.retort.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.retort.api.run.RunRequest;
import dev.retort.api.run.RunResult;
import dev.retort.api.run.RunState;
import dev.retort.api.run.Runner;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * The web view's limits on a real server with real sockets: bounded event streams that leave the other requests
 * answered, a study folder whose bad rows cannot hang or break it, and the Host rule on every method.
 */
@ExtendWith({BundleContextExtension.class, ServiceExtension.class})
class WebLimitsTest {
    /** ApiServlet.MAX_STREAMS (package-private in the web bundle). */
    private static final int MAX_STREAMS = 16;

    @InjectService(timeout = 10_000)
    CommandProcessor shell;

    @InjectService(timeout = 10_000)
    Runner runner;

    /** An event stream on a raw socket; {@code reading} drains it on a thread of its own, else nothing reads it. */
    private static final class Stream implements AutoCloseable {
        final Socket socket;
        final String status;
        final Thread drain;

        Stream(int port, boolean reading) throws IOException {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nAccept: text/event-stream\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            StringBuilder line = new StringBuilder();
            for (int c; (c = in.read()) >= 0 && c != '\n'; ) line.append((char) c);
            status = line.toString().strip();
            drain = reading ? new Thread(() -> {
                byte[] b = new byte[8192];
                try {
                    socket.setSoTimeout(0);
                    while (in.read(b) >= 0) {
                        // what a page does with the events is no matter here
                    }
                } catch (IOException closed) {
                    // closed by the test
                }
            }, "web-limits-drain") : null;
            if (drain != null) {
                drain.setDaemon(true);
                drain.start();
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static String start(CommandProcessor shell, String args) throws Exception {
        String out = Gogo.run(shell, "kd:web " + args + " 0");
        Matcher m = Pattern.compile("web view: http://127\\.0\\.0\\.1:(\\d+)/").matcher(out);
        assertTrue(m.find(), out);
        return m.group(1);
    }

    /** One request on a raw socket with the Host header given; the whole answer. */
    private static String raw(int port, String method, String path, String host) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write((method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static long millis(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    @Test
    void eventStreamsAreBoundedAndTheRestOfTheViewStaysAnswered(@TempDir Path dir) throws Exception {
        int port = Integer.parseInt(start(shell, ""));
        String host = "127.0.0.1:" + port;
        List<Stream> open = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_STREAMS; i++) open.add(new Stream(port, i % 2 == 0));  // half of them never read
            open.forEach(s -> assertEquals("HTTP/1.1 200 OK", s.status));
            // beyond the limit: refused at once with the reason, 50 times over
            for (int i = 0; i < 50; i++) {
                long t0 = System.nanoTime();
                String refused = raw(port, "GET", "/api/events", host);
                assertTrue(refused.startsWith("HTTP/1.1 503"), refused);
                assertTrue(refused.contains("at most " + MAX_STREAMS + " live event streams") && refused.contains("Retry-After: 10"), refused);
                assertTrue(millis(t0) < 5_000, millis(t0) + " ms");
            }
            // the rest of the view answers meanwhile
            for (String path : List.of("/api/run", "/", "/api/modules")) {
                long t0 = System.nanoTime();
                String answer = raw(port, "GET", path, host);
                assertTrue(answer.startsWith("HTTP/1.1 200"), path + ": " + answer);
                System.out.printf("web limits: GET %s with %d streams open and 50 refused: %d ms%n", path, MAX_STREAMS, millis(t0));
            }
            assertTrue(raw(port, "POST", "/api/modules/csf/disable", host).startsWith("HTTP/1.1 403"), "a POST is answered (no token)");
            // clients that go away free their places
            for (int i = 0; i < 4; i++) open.remove(0).close();
            long deadline = System.currentTimeMillis() + 10_000;
            Stream again = null;
            while (again == null && System.currentTimeMillis() < deadline) {
                Stream s = new Stream(port, true);
                if (s.status.equals("HTTP/1.1 200 OK")) again = s;
                else {
                    s.close();
                    Thread.sleep(200);  // the server notices a closed stream at its next write (every second)
                }
            }
            assertTrue(again != null, "a place freed by a client that left is given to the next");
            open.add(again);
        } finally {
            for (Stream s : open) s.close();
            Gogo.run(shell, "kd:web --stop");
        }
    }

    @Test
    void badStudyRowsAreSkippedWithoutHangingTheServer(@TempDir Path dir) throws Exception {
        Path rows = Files.createDirectories(dir.resolve("study/rows"));
        Files.writeString(rows.resolve("arm-001.json"), "{\"arm\":1,\"name\":\"good\",\"modules\":\"csf\",\"configuration\":\"\",\"miou\":0.25,\"params\":1000,"
                + "\"gflops\":0.5,\"extra_params\":10,\"ms_per_step\":12.5,\"wall_s\":3.0,\"steps\":3,\"iou\":{\"road\":0.5},\"losses\":[1,0.9,0.8],\"ce_losses\":[1,0.9,0.8]}\n");
        Process fifo = new ProcessBuilder("mkfifo", rows.resolve("arm-009.json").toString()).start();
        assertTrue(fifo.waitFor(10, TimeUnit.SECONDS) && fifo.exitValue() == 0);
        Files.createSymbolicLink(rows.resolve("arm-010.json"), rows.resolve("arm-010.json"));
        Files.createDirectories(rows.resolve("arm-011.json"));
        Files.writeString(rows.resolve("arm-012.json"), "{\"arm\":12,\"name\":\"x\",\"modules\":\"csf\",\"miou\":1e308}");
        int port = Integer.parseInt(start(shell, "--study " + dir.resolve("study")));
        try {
            for (int i = 0; i < 3; i++) {  // the page asks again and again
                long t0 = System.nanoTime();
                String answer = raw(port, "GET", "/api/study", "127.0.0.1:" + port);
                assertTrue(millis(t0) < 5_000, "a FIFO row does not block the server: " + millis(t0) + " ms");
                assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
                JsonObject o = JsonParser.parseString(answer.substring(answer.indexOf("\r\n\r\n") + 4)).getAsJsonObject();
                assertEquals(1, o.getAsJsonArray("rows").size(), o.toString());
                JsonArray skipped = o.getAsJsonArray("skipped");
                assertEquals(4, skipped.size(), skipped.toString());
                assertTrue(skipped.toString().contains("a FIFO") && skipped.toString().contains("a symbolic link") && skipped.toString().contains("a folder")
                        && skipped.toString().contains("miou is 1e308"), skipped.toString());
                assertTrue(!answer.contains("Exception"), answer);
            }
        } finally {
            Gogo.run(shell, "kd:web --stop");
        }
    }

    @Test
    void everyMethodAnswersTheHostRuleAndTraceIsNotServed() throws Exception {
        int port = Integer.parseInt(start(shell, ""));
        try {
            for (String method : List.of("GET", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "HEAD")) {
                for (String path : List.of("/api/run", "/")) {
                    String answer = raw(port, method, path, "evil.example:" + port);
                    assertTrue(answer.startsWith("HTTP/1.1 403"), method + " " + path + ": " + answer);
                    assertTrue(!answer.contains("evil.example"), method + " " + path + " echoes nothing of the request: " + answer);
                }
            }
            String trace = raw(port, "TRACE", "/api/run", "localhost:" + port);
            assertTrue(trace.startsWith("HTTP/1.1 405"), trace);
        } finally {
            Gogo.run(shell, "kd:web --stop");
        }
    }

    /** A benchmark, not a test of speed: prints the training speed with the page's streams open against none, in one run. */
    @Test
    void trainingSpeedWithEventStreamsOpenAgainstNone(@TempDir Path dir) throws Exception {
        int port = Integer.parseInt(start(shell, ""));
        try {
            double none = msPerStep(dir.resolve("none"));
            List<Stream> open = new ArrayList<>();
            int refused = 0;
            for (int i = 0; i < 200; i++) {  // 200 asked for, as in the report that found the problem
                Stream s = new Stream(port, true);
                if (s.status.equals("HTTP/1.1 200 OK")) open.add(s);
                else {
                    refused++;
                    s.close();
                }
            }
            double streams;
            try {
                streams = msPerStep(dir.resolve("streams"));
            } finally {
                for (Stream s : open) s.close();
            }
            double after = msPerStep(dir.resolve("after"));
            System.out.printf("web limits benchmark: ms/step %.1f without streams, %.1f with %d reading streams open (%d of 200 refused), %.1f after;"
                    + " speed with streams %.0f%% of without%n", none, streams, open.size(), refused, after, 100 * (none + after) / 2 / streams);
            assertEquals(MAX_STREAMS, open.size());
        } finally {
            Gogo.run(shell, "kd:web --stop");
        }
    }

    private double msPerStep(Path out) throws Exception {
        Map<String, Object> m = new TreeMap<>(Map.ofEntries(Map.entry("name", "web-bench"), Map.entry("output", out.toString()), Map.entry("seed", "4"),
                Map.entry("modules", "csf,pea"),
                Map.entry("teacher", "mit-b2"), Map.entry("teacher.embed_dims", "16,32,48,64"), Map.entry("teacher.depths", "1,1,1,1"),
                Map.entry("teacher.num_heads", "1,2,3,4"), Map.entry("teacher.decoder_dim", "32"),
                Map.entry("student", "mit-b0"), Map.entry("student.embed_dims", "8,16,24,32"), Map.entry("student.depths", "1,1,1,1"),
                Map.entry("student.num_heads", "1,2,3,4"), Map.entry("student.decoder_dim", "16"),
                Map.entry("dataset", "synthetic"), Map.entry("data.height", "64"), Map.entry("data.width", "128"),
                Map.entry("data.train_size", "8"), Map.entry("data.val_size", "2"), Map.entry("batch_size", "2"),
                Map.entry("iterations", "40"), Map.entry("eval_every", "1000"), Map.entry("decay_per", "iteration"),
                Map.entry("threads", "1"), Map.entry("log_every", "1")));
        RunResult r = runner.start(new RunRequest(m, null, false, new PrintStream(PrintStream.nullOutputStream()), null, 0))
                .completion().toCompletableFuture().get(300, TimeUnit.SECONDS);
        assertEquals(RunState.FINISHED, r.state(), String.valueOf(r.failure()));
        return r.meanStepMillis();
    }
}
