package dev.retort.launcher;

import ai.djl.engine.Engine;
import dev.retort.runtime.DjlRuntime;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.felix.framework.FrameworkFactory;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;

/**
 * The running Retort: PyTorch started on the class path, then Felix with the embedded bundles, the Engine
 * service, and FileInstall watching the drop-in and configuration folders.
 */
final class RetortRuntime {
    /** Folder inside the jar (or the classes folder) holding the bundles to install. */
    static final String EMBEDDED = "retort-bundles/";
    private static final String FILEINSTALL = "org.apache.felix.fileinstall";
    private static final String SHELL = "org.apache.felix.gogo.shell";
    private static final String TRAINING_RUN = "dev.retort.api.run.TrainingRun";

    record Settings(Path bundles, Path conf, Path defaultCacheDir) {}

    private final Framework framework;
    private final Path storage;
    private final Settings settings;

    private RetortRuntime(Framework framework, Path storage, Settings settings) {
        this.framework = framework;
        this.storage = storage;
        this.settings = settings;
    }

    private static final String HTTP_LOG = "org.slf4j.simpleLogger.log.org.apache.felix.http";

    static RetortRuntime start(Settings settings, boolean commandMode) throws Exception {
        // The HTTP server warns at every start that it is disabled (as it is until kd:web): not news; its errors still show.
        if (System.getProperty(HTTP_LOG) == null) System.setProperty(HTTP_LOG, "error");
        Engine engine = DjlRuntime.startOffline(settings.defaultCacheDir());

        // A private, throw-away bundle cache: parallel runs (cluster array jobs) never share one. Its name carries our
        // process id, so that a later start can tell the folders of killed processes from those of live ones.
        TempFolders.removeStale(System.err);
        Path storage = TempFolders.create();
        Map<String, String> props = new HashMap<>();
        props.put(Constants.FRAMEWORK_STORAGE, storage.toString());
        props.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        props.put(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, DjlRuntime.systemPackages());
        props.put("felix.log.level", "1");
        props.put("ds.loglevel", "warn");
        // Gogo: interactive console on the terminal, or none in command mode (and never a framework shutdown
        // from the shell there: the launcher stops the framework itself after the command).
        props.put("gosh.args", commandMode ? "--nointeractive --noshutdown" : "");
        // Commands that can run long (kd:train) run in the foreground in command mode, in the background in the shell.
        props.put("retort.command.mode", String.valueOf(commandMode));
        // FileInstall: several folders may be given separated by commas.
        props.put("felix.fileinstall.dir", settings.bundles() + "," + settings.conf());
        props.put("felix.fileinstall.filter", ".*\\.(jar|cfg|config)");
        props.put("felix.fileinstall.noInitialDelay", "true");
        props.put("felix.fileinstall.poll", "1000");
        props.put("felix.fileinstall.log.level", "2");
        // FileInstall's own temporary files go into the private folder too (by default it leaves fileinstall-* behind)
        props.put("felix.fileinstall.tmpdir", storage.resolve("fileinstall").toString());
        // The files are the source of truth: never write ConfigAdmin changes back into the user's conf/.
        props.put("felix.fileinstall.enableConfigSave", "false");
        // The web view's HTTP server starts disabled, so nothing listens on a port until kd:web (or --web) enables it
        // through its ConfigAdmin configuration.
        props.put("org.apache.felix.http.enable", "false");
        props.put("org.apache.felix.https.enable", "false");
        Files.createDirectories(settings.bundles());
        Files.createDirectories(settings.conf());

        Framework framework = new FrameworkFactory().newFramework(props);
        RetortRuntime runtime = new RetortRuntime(framework, storage, settings);
        Runtime.getRuntime().addShutdownHook(new Thread(runtime::stop, "retort-shutdown"));
        framework.init();
        DjlRuntime.register(framework.getBundleContext(), engine);
        List<Bundle> installed = runtime.installEmbedded();
        framework.start();
        // FileInstall last, so that ConfigAdmin is there when it reads conf/; the shell waits for startShell().
        installed.sort(Comparator.comparing(b -> FILEINSTALL.equals(b.getSymbolicName())));
        for (Bundle b : installed) {
            if (!SHELL.equals(b.getSymbolicName())) startBundle(b);
        }
        return runtime;
    }

    /**
     * Starts the Gogo shell: the console on the terminal, or in command mode only its built-in commands.
     * Called once the drop-ins are in, so the first command typed or piped finds every command registered.
     */
    void startShell() {
        Stream.of(context().getBundles()).filter(b -> SHELL.equals(b.getSymbolicName())).forEach(RetortRuntime::startBundle);
    }

    private static void startBundle(Bundle b) {
        if (b.getHeaders().get(Constants.FRAGMENT_HOST) != null) return;
        try {
            b.start();
        } catch (BundleException e) {
            System.err.println("retort: bundle " + b.getSymbolicName() + " did not start: " + e.getMessage());
        }
    }

    BundleContext context() {
        return framework.getBundleContext();
    }

    void awaitStop() {
        try {
            framework.waitForStop(0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the framework (idempotent) and deletes its cache. */
    synchronized void stop() {
        try {
            if ((framework.getState() & (Bundle.ACTIVE | Bundle.STARTING)) != 0) {
                framework.stop();
                framework.waitForStop(30_000);
            }
        } catch (BundleException | InterruptedException e) {
            System.err.println("retort: framework did not stop cleanly: " + e.getMessage());
        } finally {
            TempFolders.deleteTree(storage, System.err);
        }
    }

    /**
     * Waits until FileInstall has taken in what the folders held at start: every jar of the drop-in folder is
     * installed and every configuration file is a ConfigAdmin configuration, so that the first command sees them.
     * A jar that is not a bundle (corrupt, or a plain library) is named with the reason at once and not waited for.
     */
    void awaitDropIns(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Set<String> jars = new TreeSet<>(filesIn(settings.bundles(), ".jar"));
        for (Map.Entry<Path, String> bad : DropIns.notBundles(settings.bundles()).entrySet()) {
            System.err.println("retort: " + bad.getKey() + " is ignored: " + bad.getValue());
            jars.remove(normalise(bad.getKey().toUri().toString()));
        }
        Set<String> configs = filesIn(settings.conf(), ".cfg", ".config");
        while (System.nanoTime() < deadline) {
            if (installedLocations().containsAll(jars) && configurationFiles().containsAll(configs)) return;
            sleep(50);
        }
        Set<String> missing = new TreeSet<>(jars);
        missing.removeAll(installedLocations());
        Set<String> missingConfigs = new TreeSet<>(configs);
        missingConfigs.removeAll(configurationFiles());
        missing.addAll(missingConfigs);
        System.err.println("retort: not taken in after " + timeout.toSeconds() + " s (see FileInstall's messages above): "
                + missing.stream().map(u -> Path.of(URI.create(u)).toString()).collect(Collectors.joining(", ")));
    }

    /** Asks every running training (TrainingRun service) to stop at its next step boundary; returns how many. */
    int stopRuns() {
        int n = 0;
        try {
            ServiceReference<?>[] refs = context().getAllServiceReferences(TRAINING_RUN, null);
            if (refs == null) return 0;
            for (ServiceReference<?> ref : refs) {
                Object run = context().getService(ref);
                if (run == null) continue;
                try {
                    Class<?> api = Stream.of(run.getClass().getInterfaces()).filter(i -> i.getName().equals(TRAINING_RUN)).findFirst().orElseThrow();
                    api.getMethod("stop").invoke(run);
                    n++;
                } catch (ReflectiveOperationException | RuntimeException e) {
                    System.err.println("retort: cannot stop run " + ref.getProperty("retort.run") + ": " + FailureText.describe(framework.getBundleContext(), e));
                } finally {
                    context().ungetService(ref);
                }
            }
        } catch (InvalidSyntaxException | IllegalStateException e) {
            return n;  // no filter given; or the framework is already stopping
        }
        return n;
    }

    private List<Bundle> installEmbedded() throws IOException, BundleException {
        List<Bundle> installed = new ArrayList<>();
        for (Map.Entry<String, Opener> e : embeddedBundles().entrySet()) {
            try (InputStream in = e.getValue().open()) {
                installed.add(framework.getBundleContext().installBundle("retort:" + e.getKey(), in));
            }
        }
        if (installed.isEmpty()) throw new IllegalStateException("no bundles under " + EMBEDDED + " in " + codeLocation());
        return installed;
    }

    interface Opener {
        InputStream open() throws IOException;
    }

    /** The jars under {@link #EMBEDDED}, from the runnable jar or, during development, the classes folder. */
    static Map<String, Opener> embeddedBundles() throws IOException {
        Path code = codeLocation();
        Map<String, Opener> found = new TreeMap<>();
        if (Files.isDirectory(code)) {
            try (Stream<Path> files = Files.list(code.resolve(EMBEDDED))) {
                files.filter(p -> p.toString().endsWith(".jar"))
                        .forEach(p -> found.put(p.getFileName().toString(), () -> Files.newInputStream(p)));
            }
        } else {
            JarFile jar = new JarFile(code.toFile());  // stays open while the runtime lives: the openers read it
            for (JarEntry entry : jar.stream().toList()) {
                String name = entry.getName();
                if (name.startsWith(EMBEDDED) && name.endsWith(".jar")) {
                    found.put(name.substring(EMBEDDED.length()), () -> jar.getInputStream(entry));
                }
            }
        }
        return found;
    }

    static Path codeLocation() {
        try {
            return Path.of(RetortRuntime.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private Set<String> installedLocations() {
        return Stream.of(context().getBundles()).map(Bundle::getLocation).map(RetortRuntime::normalise)
                .collect(Collectors.toSet());
    }

    /** Files ConfigAdmin configurations came from (FileInstall records them); reflective: cm is not on our class path. */
    private Set<String> configurationFiles() {
        Set<String> files = new TreeSet<>();
        ServiceReference<?> ref = context().getServiceReference("org.osgi.service.cm.ConfigurationAdmin");
        if (ref == null) return files;
        Object admin = context().getService(ref);
        try {
            Method list = admin.getClass().getMethod("listConfigurations", String.class);
            list.setAccessible(true);
            Object[] configs = (Object[]) list.invoke(admin, "(felix.fileinstall.filename=*)");
            if (configs == null) return files;
            for (Object c : configs) {
                Method props = c.getClass().getMethod("getProperties");
                props.setAccessible(true);
                Object file = ((Dictionary<?, ?>) props.invoke(c)).get("felix.fileinstall.filename");
                if (file != null) files.add(normalise(file.toString()));
            }
        } catch (ReflectiveOperationException e) {
            System.err.println("retort: cannot list configurations: " + FailureText.beforeRuntime(e));
        } finally {
            context().ungetService(ref);
        }
        return files;
    }

    private static Set<String> filesIn(Path dir, String... suffixes) {
        if (!Files.isDirectory(dir)) return Set.of();
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> Stream.of(suffixes).anyMatch(s -> p.toString().endsWith(s)))
                    .map(p -> normalise(p.toUri().toString())).collect(Collectors.toSet());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** file:/a/b and file:///a/b name the same file. */
    private static String normalise(String uri) {
        return uri.replaceFirst("^file:/+", "file:/");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
