package dev.retort.launcher;

import dev.retort.nn.Suggestions;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * Finds the files of the configuration folder whose PID nothing reads ({@code dev.retort.distill.cfs.cfg} for
 * {@code dev.retort.distill.csf}): such a file configures nothing, silently. Known PIDs are those the installed
 * bundles declare (Declarative Services components and MetaType designates under {@code OSGI-INF/}, the
 * {@value #HEADER} header for configurations read directly, e.g. runs) and those of registered ManagedService(Factory)
 * services.
 */
final class ConfPids {
    /** Bundle header listing (factory) PIDs a bundle reads from ConfigAdmin itself, comma-separated. */
    static final String HEADER = "Retort-Configuration-Pids";

    private static final Pattern DECLARED = Pattern.compile("\\s(?:configuration-pid|pid|factoryPid)=\"([^\"]+)\"");
    private static final Pattern COMPONENT = Pattern.compile("<(?:\\w+:)?component\\s[^>]*?\\bname=\"([^\"]+)\"");

    private ConfPids() {}

    /** Prints one line per file of {@code conf} whose PID is not known; returns those lines. */
    static List<String> reportUnknown(BundleContext context, Path conf, PrintStream err) {
        Set<String> known = known(context);
        List<String> lines = unknown(conf, known);
        lines.forEach(l -> err.println("retort: " + l));
        return lines;
    }

    static List<String> unknown(Path conf, Set<String> known) {
        if (!Files.isDirectory(conf)) return List.of();
        try (Stream<Path> files = Files.list(conf)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cfg") || n.endsWith(".config")).sorted()
                    .map(n -> {
                        String pid = pidOf(n);
                        if (known.contains(pid)) return null;
                        String hint = Suggestions.closest(pid, known);
                        return conf.getFileName() + "/" + n + ": no installed bundle reads PID " + pid
                                + (hint == null ? "" : " (did you mean " + hint + "?)") + "; the file configures nothing";
                    }).filter(l -> l != null).toList();
        } catch (IOException e) {
            return List.of("cannot list " + conf + ": " + e.getMessage());
        }
    }

    /** FileInstall's rule: {@code <pid>.cfg}, or {@code <factoryPid>-<name>.cfg} for a factory configuration. */
    static String pidOf(String fileName) {
        String base = fileName.substring(0, fileName.lastIndexOf('.'));
        int dash = base.indexOf('-');
        return dash > 0 ? base.substring(0, dash) : base;
    }

    static Set<String> known(BundleContext context) {
        Set<String> pids = new TreeSet<>();
        for (Bundle b : context.getBundles()) {
            String header = b.getHeaders().get(HEADER);
            if (header != null) for (String p : header.split(",")) pids.add(p.strip());
            Enumeration<URL> xml = b.findEntries("OSGI-INF", "*.xml", true);
            while (xml != null && xml.hasMoreElements()) {
                try (InputStream in = xml.nextElement().openStream()) {
                    String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    for (Matcher m = DECLARED.matcher(text); m.find(); ) pids.addAll(List.of(m.group(1).split("\\s+")));
                    for (Matcher m = COMPONENT.matcher(text); m.find(); ) pids.add(m.group(1));  // DS's default configuration PID
                } catch (IOException ignored) {
                    // an unreadable entry declares nothing
                }
            }
        }
        for (String type : List.of("org.osgi.service.cm.ManagedService", "org.osgi.service.cm.ManagedServiceFactory")) {
            try {
                ServiceReference<?>[] refs = context.getAllServiceReferences(type, null);
                if (refs != null) for (ServiceReference<?> r : refs) addPids(pids, r.getProperty("service.pid"));
            } catch (InvalidSyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        return pids;
    }

    private static void addPids(Set<String> pids, Object value) {
        if (value instanceof String s) pids.add(s);
        else if (value instanceof String[] a) pids.addAll(List.of(a));
        else if (value instanceof Iterable<?> l) l.forEach(o -> pids.add(String.valueOf(o)));
    }
}
