package dev.retort.web;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.retort.api.run.RunState;
import dev.retort.api.run.TrainingRun;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import jakarta.servlet.ServletException;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The JSON endpoints under {@code /api/} and the page's event stream (server-sent events). Reading is GET;
 * enabling and disabling a module is POST with the per-process {@link Token} in the {@code X-Retort-Token} header.
 * Every method answers the {@link HostCheck} first; TRACE is not served.
 *
 * <p>Event streams are bounded, as a servlet container bounds connections: at most {@link #MAX_STREAMS} at once (a
 * further one gets 503 with the reason, and the page falls back to asking every few seconds), each ended after
 * {@link #STREAM_MILLIS} (the browser reconnects and resumes after the last event it got), and a stream whose client
 * stops reading ends when the server's idle timeout ({@link WebView#IDLE_TIMEOUT_MILLIS}) expires on its blocked
 * write. The status sent every second is built once for all streams.
 */
final class ApiServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    /** How often the event stream sends the run's status (step, ETA, images/s) between events. */
    static final long STATUS_MILLIS = 1000;
    /** Event streams served at once; each holds one of the server's threads. */
    static final int MAX_STREAMS = 16;
    /** The longest an event stream lasts before the server ends it (the browser reconnects at once). */
    static final long STREAM_MILLIS = 10 * 60_000;

    private final transient Supplier<Optional<TrainingRun>> current;
    private final transient RunLog log;
    private final transient Token token;
    private final transient HostCheck hosts;
    private final transient StudyRows study;
    private final transient Semaphore streams = new Semaphore(MAX_STREAMS);
    private final transient AtomicLong refused = new AtomicLong();
    private volatile boolean open = true;
    /** The status JSON of the last second, shared by the streams. */
    private transient volatile String status;
    private transient volatile long statusAt;

    /** @param study the study folder shown, or null */
    ApiServlet(Supplier<Optional<TrainingRun>> current, RunLog log, Token token, HostCheck hosts, Path study) {
        this.current = current;
        this.log = log;
        this.token = token;
        this.hosts = hosts;
        this.study = study == null ? null : new StudyRows(study, System.err);
    }

    /** Ends the open event streams (the view stops). */
    void close() {
        open = false;
        log.wakeAll();
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws ServletException, IOException {
        if (!hostAllowed(req, resp)) return;  // every method, OPTIONS and TRACE included
        if (req.getMethod().equals("TRACE")) {
            send(resp, 405, Json.error("TRACE is not served"));
            return;
        }
        super.service(req, resp);
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String path = path(req);
        switch (path) {
            case "/run" -> send(resp, 200, runJson());
            case "/modules" -> {
                TrainingRun run = current.get().orElse(null);
                JsonObject o = new JsonObject();
                o.add("modules", run == null ? new JsonArray() : Json.modules(run.status(), log.moduleParams()));
                send(resp, 200, o);
            }
            case "/metrics" -> {
                long since;
                try {
                    since = Long.parseLong(Optional.ofNullable(req.getParameter("since")).orElse("-1"));
                } catch (NumberFormatException e) {
                    send(resp, 400, Json.error("since must be a step number, got '" + req.getParameter("since") + "'"));
                    return;
                }
                JsonObject o = new JsonObject();
                o.addProperty("run", log.runId());
                o.add("events", Json.events(log.sinceStep(since)));
                send(resp, 200, o);
            }
            case "/study" -> {
                if (study == null) {
                    send(resp, 404, Json.error("no study folder: start the view with kd:web --study <folder>"));
                    return;
                }
                send(resp, 200, study.json());
            }
            case "/events" -> {
                if (!streams.tryAcquire()) {
                    if (refused.getAndIncrement() == 0) {
                        System.err.println("retort: web view: more than " + MAX_STREAMS + " event streams asked for at once; the further ones are"
                                + " refused (503) and their pages ask every few seconds instead");
                    }
                    resp.setHeader("Retry-After", "10");
                    send(resp, 503, Json.error("this view serves at most " + MAX_STREAMS + " live event streams at once and all are in use"
                            + " (other tabs or clients); this page asks for the run's state every few seconds instead"));
                    return;
                }
                try {
                    stream(req, resp);
                } finally {
                    streams.release();
                }
            }
            default -> send(resp, 404, Json.error("no endpoint " + req.getRequestURI()));
        }
    }

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        if (!token.matches(req.getHeader(Token.HEADER))) {
            send(resp, 403, Json.error("missing or wrong " + Token.HEADER + " header: state-changing requests need the token of this process's page"));
            return;
        }
        // /modules/<name>/enable or /modules/<name>/disable
        String[] parts = path(req).split("/");
        if (parts.length != 4 || !parts[1].equals("modules") || !(parts[3].equals("enable") || parts[3].equals("disable"))) {
            send(resp, 404, Json.error("no endpoint POST " + req.getRequestURI() + " (POST /api/modules/<name>/enable or /disable)"));
            return;
        }
        String module = parts[2];
        boolean enable = parts[3].equals("enable");
        TrainingRun run = current.get().orElse(null);
        RunState state = run == null ? null : run.status().state();
        if (run == null || state.ended()) {
            send(resp, 409, Json.error(run == null ? "no run in progress" : "no run in progress (the last one, " + run.id() + ", is " + state.name().toLowerCase() + ")"));
            return;
        }
        try {
            if (enable) run.enable(module);
            else run.disable(module);
        } catch (IllegalArgumentException | IllegalStateException e) {
            send(resp, 400, Json.error(e.getMessage()));
            return;
        }
        JsonObject o = new JsonObject();
        o.addProperty("module", module);
        o.addProperty("action", parts[3]);
        o.addProperty("run", run.id());
        o.addProperty("applies", "at the next step boundary");
        send(resp, 200, o);
    }

    /**
     * {@code GET /api/events}: the current run's events so far, then each new one as it comes ({@code event: run},
     * {@code id} = its number, so that the browser's reconnection resumes after the last one it got), and the run's
     * status every second ({@code event: status}).
     */
    private void stream(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        long seq = 0;
        String last = req.getHeader("Last-Event-ID");
        try {
            if (last != null) seq = Long.parseLong(last.strip());
        } catch (NumberFormatException e) {
            seq = 0;  // a browser's own header: start over rather than refuse
        }
        resp.setStatus(200);
        resp.setContentType("text/event-stream");
        resp.setCharacterEncoding("UTF-8");
        resp.setHeader("Cache-Control", "no-store");
        PrintWriter out = resp.getWriter();
        out.write("retry: 1000\n\n");
        long lastStatus = 0, end = System.currentTimeMillis() + STREAM_MILLIS;
        while (open && System.currentTimeMillis() < end) {
            List<RunLog.Entry> batch;
            try {
                batch = log.await(seq, STATUS_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            for (RunLog.Entry e : batch) {
                out.write("id: " + e.seq() + "\nevent: run\ndata: " + Json.event(e) + "\n\n");
                seq = e.seq();
            }
            long now = System.currentTimeMillis();
            if (now - lastStatus >= STATUS_MILLIS) {
                out.write("event: status\ndata: " + sharedStatus(now) + "\n\n");
                lastStatus = now;
            }
            out.flush();
            if (out.checkError()) return;  // the page went away
        }
    }

    /** Event streams refused since the view started, beyond {@link #MAX_STREAMS}. */
    long refusedStreams() {
        return refused.get();
    }

    private String sharedStatus(long now) {
        String s = status;
        if (s == null || now - statusAt >= STATUS_MILLIS / 2) {
            s = runJson().toString();
            status = s;
            statusAt = now;
        }
        return s;
    }

    private JsonObject runJson() {
        return Json.run(current.get().orElse(null), log.moduleParams());
    }

    private boolean hostAllowed(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        if (hosts.allows(req.getHeader("Host"))) return true;
        send(resp, 403, Json.error("this server answers loopback host names only (localhost, 127.0.0.1)"));
        return false;
    }

    private static String path(HttpServletRequest req) {
        String p = req.getPathInfo();
        return p == null || p.isEmpty() ? "/" : p;
    }

    static void send(HttpServletResponse resp, int status, JsonElement body) throws IOException {
        resp.setStatus(status);
        resp.setContentType("application/json");
        resp.setCharacterEncoding("UTF-8");
        resp.setHeader("Cache-Control", "no-store");
        resp.setHeader("X-Content-Type-Options", "nosniff");
        resp.getWriter().write(body.toString());
    }
}
