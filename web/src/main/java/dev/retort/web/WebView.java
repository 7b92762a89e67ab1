package dev.retort.web;

import dev.retort.api.error.RetortConfigException;
import dev.retort.api.run.RunListener;
import dev.retort.api.run.Runner;
import dev.retort.api.run.TrainingRun;
import jakarta.servlet.Servlet;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URL;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.servlet.whiteboard.annotations.RequireHttpWhiteboard;

/**
 * {@code kd:web [--host ADDR] [--study DIR] [port]}: serves the web view and prints its address. Until it is called
 * nothing of the view exists: no servlet, no listener, and the HTTP server (started disabled by the launcher) does
 * not listen; the command turns it on through its ConfigAdmin configuration.
 */
@RequireHttpWhiteboard
// immediate: a delayed component would be disposed (and the view stopped) as soon as Gogo releases it after the command
@Component(service = WebView.class, immediate = true, property = {"osgi.command.scope=kd", "osgi.command.function=web"})
public class WebView {
    /** The Felix HTTP server's configuration. */
    static final String HTTP_PID = "org.apache.felix.http";
    static final String LOOPBACK = "127.0.0.1";
    static final int DEFAULT_PORT = 8080;
    private static final String RUNTIME = "org.osgi.service.servlet.runtime.HttpServiceRuntime";
    private static final String ENDPOINT = "osgi.http.endpoint";
    private static final long START_MILLIS = 15_000;
    /** The server's idle timeout: a connection, or a write to a client that stopped reading, that makes no progress this long is closed. */
    static final long IDLE_TIMEOUT_MILLIS = 30_000;
    /** The server's threads: the event streams ({@link ApiServlet#MAX_STREAMS}) leave the rest to the other requests. */
    static final int THREADS = 64;

    @Reference
    ConfigurationAdmin configAdmin;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile Runner runner;

    private BundleContext context;
    /** One token per process: the page of any start of the view in this process carries it. */
    private final Token token = Token.random();
    private Serving serving;

    /** What a started view holds, to be released when it stops. */
    private record Serving(String host, int port, Path study, String address, ApiServlet api, List<ServiceRegistration<?>> registrations) {}

    @Activate
    void activate(BundleContext context) {
        this.context = context;
    }

    @Deactivate
    synchronized void deactivate() {
        if (serving != null) serving.api().close();
        deleteHttpConfiguration();
        release();
    }

    @Descriptor("serve the live web view of the current run (and of a study folder) and print its address; default 127.0.0.1:8080")
    public synchronized String web(
            @Descriptor("address to listen on (default 127.0.0.1, this machine only; any other address is reachable by others and prints a warning)")
            @Parameter(names = "--host", absentValue = LOOPBACK) String host,
            @Descriptor("a study folder (kd:ablate --out) whose arms the page shows") @Parameter(names = "--study", absentValue = "") String study,
            @Descriptor("stop serving") @Parameter(names = "--stop", presentValue = "true", absentValue = "false") boolean stop,
            @Descriptor("port (default 8080; 0: any free port)") String... args) throws IOException, InterruptedException {
        if (stop) {
            boolean was = serving != null;
            if (was) serving.api().close();  // open event streams end first, so the server stops without waiting on them
            deleteHttpConfiguration();
            awaitNoRuntime();
            release();
            return was ? "web view stopped" : "the web view was not running";
        }
        if (args.length > 1) throw new RetortConfigException("kd:web takes one port, got " + String.join(" ", args)
                + "; usage: kd:web [--host ADDR] [--study DIR] [--stop] [port]");
        int port = args.length == 0 ? DEFAULT_PORT : port(args[0]);
        InetAddress address = address(host);
        Path studyFolder = study.isBlank() ? null : Path.of(study).toAbsolutePath().normalize();
        if (studyFolder != null && !Files.isDirectory(studyFolder)) {
            throw new RetortConfigException("--study " + study + ": no such folder (give the output folder of kd:ablate, which holds rows/)");
        }
        if (serving != null && serving.host().equals(host) && (port == 0 || serving.port() == port) && Objects.equals(serving.study(), studyFolder)) {
            return "web view: " + serving.address();
        }
        if (serving != null) {
            // the server stops before the servlets go: unregistering them while it restarts trips its whiteboard
            serving.api().close();
            deleteHttpConfiguration();
            awaitNoRuntime();
            release();
        }
        if (port != 0) requireFree(address, port);
        boolean loopback = address.isLoopbackAddress();
        if (!loopback) {
            PrintStream err = System.err;
            err.println("retort: warning: the web view listens on " + host + ":" + port + ", not only on this machine: anyone who can reach"
                    + " that address can watch the run and enable or disable its modules (there is no password)");
        }
        RunLog log = new RunLog();
        HostCheck hosts = new HostCheck(loopback);
        ApiServlet api = new ApiServlet(this::currentRun, log, token, hosts, studyFolder);
        List<ServiceRegistration<?>> regs = new ArrayList<>();
        regs.add(context.registerService(RunListener.class, log, null));
        regs.add(context.registerService(Servlet.class, api, servletProperties("retort-api", "/api/*")));
        regs.add(context.registerService(Servlet.class, new PageServlet(assets(), token, hosts), servletProperties("retort-page", "/")));
        Configuration http = configAdmin.getConfiguration(HTTP_PID, "?");
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("org.apache.felix.http.enable", "true");
        props.put("org.apache.felix.https.enable", "false");
        props.put("org.apache.felix.http.host", host);
        props.put("org.osgi.service.http.port", String.valueOf(port));
        props.put("org.apache.felix.http.timeout", String.valueOf(IDLE_TIMEOUT_MILLIS));
        props.put("org.apache.felix.http.jetty.threadpool.max", String.valueOf(THREADS));
        http.update(props);
        String url;
        try {
            url = awaitEndpoint(host, port);
        } catch (IllegalStateException | InterruptedException e) {
            regs.forEach(WebView::unregister);
            api.close();
            deleteHttpConfiguration();
            throw e;
        }
        serving = new Serving(host, port, studyFolder, url, api, regs);
        // printed at once: in a chained command line (kd:web 8080; kd:train run.cfg) only the last command's result shows
        System.out.println("web view: " + url);
        System.out.flush();
        return null;
    }

    private Optional<TrainingRun> currentRun() {
        Runner r = runner;
        return r == null ? Optional.empty() : r.current();
    }

    static int port(String text) {
        int port;
        try {
            port = Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new RetortConfigException("port must be a number from 0 to 65535, got '" + text + "'");
        }
        if (port < 0 || port > 65535) throw new RetortConfigException("port must be a number from 0 to 65535, got " + port);
        return port;
    }

    static InetAddress address(String host) {
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new RetortConfigException("--host " + host + ": unknown address");
        }
    }

    /** A clear message for a port in use, rather than an HTTP server that logs a bind error and never comes up. */
    private static void requireFree(InetAddress address, int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(address, port));
        } catch (IOException e) {
            throw new IllegalStateException("cannot listen on " + address.getHostAddress() + ":" + port + " (" + e.getMessage()
                    + "): choose another port, e.g. kd:web " + (port == DEFAULT_PORT ? 8081 : DEFAULT_PORT) + ", or 0 for any free one");
        }
    }

    /** Waits for the HTTP runtime to announce an endpoint on this host (and port); returns its address. */
    private String awaitEndpoint(String host, int port) throws InterruptedException {
        long deadline = System.currentTimeMillis() + START_MILLIS;
        while (System.currentTimeMillis() < deadline) {
            for (String e : endpoints()) {
                if (e.contains("//" + host + ":") || e.contains("//[" + host + "]:")) {
                    if (port == 0 || e.contains(":" + port + "/")) return e;
                }
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("the HTTP server did not come up on " + host + ":" + port + " within " + START_MILLIS / 1000
                + " s (is the bundle org.apache.felix.http.jetty12 active? try lb)");
    }

    private void awaitNoRuntime() throws InterruptedException {
        long deadline = System.currentTimeMillis() + START_MILLIS;
        while (!endpoints().isEmpty() && System.currentTimeMillis() < deadline) Thread.sleep(50);
    }

    private List<String> endpoints() {
        List<String> out = new ArrayList<>();
        try {
            ServiceReference<?>[] refs = context.getAllServiceReferences(RUNTIME, null);
            if (refs == null) return out;
            for (ServiceReference<?> r : refs) {
                Object v = r.getProperty(ENDPOINT);
                if (v instanceof String s) out.add(s);
                else if (v instanceof String[] a) out.addAll(List.of(a));
                else if (v instanceof Collection<?> c) c.forEach(x -> out.add(String.valueOf(x)));
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    private static Dictionary<String, Object> servletProperties(String name, String pattern) {
        Dictionary<String, Object> p = new Hashtable<>();
        p.put("osgi.http.whiteboard.servlet.name", name);
        p.put("osgi.http.whiteboard.servlet.pattern", pattern);
        return p;
    }

    /** The page's files: its own and uPlot's, from the WebJar packed into this bundle. */
    private Map<String, PageServlet.Asset> assets() {
        Map<String, PageServlet.Asset> m = new HashMap<>();
        m.put("/", new PageServlet.Asset(resource("web/index.html"), "text/html;charset=utf-8"));
        m.put("/static/app.js", new PageServlet.Asset(resource("web/app.js"), "text/javascript;charset=utf-8"));
        m.put("/static/app.css", new PageServlet.Asset(resource("web/app.css"), "text/css;charset=utf-8"));
        m.put("/static/uPlot.iife.min.js", new PageServlet.Asset(webjar("uPlot.iife.min.js"), "text/javascript;charset=utf-8"));
        m.put("/static/uPlot.min.css", new PageServlet.Asset(webjar("uPlot.min.css"), "text/css;charset=utf-8"));
        m.put("/static/uPlot.LICENSE", new PageServlet.Asset(webjar("LICENSE"), "text/plain;charset=utf-8"));
        return m;
    }

    private URL resource(String path) {
        URL u = context.getBundle().getEntry(path);
        if (u == null) throw new IllegalStateException("the bundle lacks " + path);
        return u;
    }

    private URL webjar(String file) {
        Enumeration<URL> found = context.getBundle().findEntries("META-INF/resources/webjars/uplot", file, true);
        if (found == null || !found.hasMoreElements()) throw new IllegalStateException("the bundle lacks uPlot's " + file);
        return found.nextElement();
    }

    private void release() {
        if (serving == null) return;
        serving.registrations().forEach(WebView::unregister);
        serving.api().close();
        serving = null;
    }

    private static void unregister(ServiceRegistration<?> r) {
        try {
            r.unregister();
        } catch (IllegalStateException e) {
            // already gone with the bundle
        }
    }

    /** Back to no configuration: the server stops listening (it was started disabled). */
    private void deleteHttpConfiguration() {
        try {
            Configuration[] found = configAdmin.listConfigurations("(service.pid=" + HTTP_PID + ")");
            if (found != null) for (Configuration c : found) c.delete();
        } catch (IOException | InvalidSyntaxException | IllegalStateException e) {
            // ConfigAdmin stopping with the framework: nothing left to stop
        }
    }
}
