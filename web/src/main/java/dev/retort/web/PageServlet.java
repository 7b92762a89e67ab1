package dev.retort.web;

import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The page and its files, all from this bundle (uPlot from the WebJar packed into it): a fixed list of paths, so no
 * request can name any other resource. The page carries this process's {@link Token} for its POST requests.
 */
final class PageServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    /** A file served: where it lies in the bundle and its media type. */
    record Asset(URL source, String type) {}

    private final transient Map<String, Asset> assets;
    private final transient Token token;
    private final transient HostCheck hosts;

    /** @param assets request path (e.g. {@code /static/app.js}) to file; {@code /} is the page, with the token filled in */
    PageServlet(Map<String, Asset> assets, Token token, HostCheck hosts) {
        this.assets = Map.copyOf(assets);
        this.token = token;
        this.hosts = hosts;
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws ServletException, IOException {
        // plain answers of our own: the container's error page would echo the request's URI, foreign host name and all
        if (!hosts.allows(req.getHeader("Host"))) {  // every method, OPTIONS and TRACE included
            plain(resp, 403, "this server answers loopback host names only (localhost, 127.0.0.1)");
            return;
        }
        if (req.getMethod().equals("TRACE")) {
            plain(resp, 405, "TRACE is not served");
            return;
        }
        super.service(req, resp);
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String path = req.getRequestURI();
        if (path.equals("/index.html")) path = "/";
        Asset a = assets.get(path);
        if (a == null) {
            resp.sendError(404, "no page " + path);
            return;
        }
        byte[] body;
        try (InputStream in = a.source().openStream()) {
            body = in.readAllBytes();
        }
        if (path.equals("/")) {
            body = new String(body, StandardCharsets.UTF_8).replace("@TOKEN@", token.value()).getBytes(StandardCharsets.UTF_8);
            // the page holds the token: it must not be framed by another site (clickjacking) nor kept in caches
            resp.setHeader("X-Frame-Options", "DENY");
            resp.setHeader("Content-Security-Policy", "frame-ancestors 'none'");
        }
        resp.setStatus(200);
        resp.setContentType(a.type());
        resp.setHeader("Cache-Control", "no-store");
        resp.setHeader("X-Content-Type-Options", "nosniff");
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }

    private static void plain(HttpServletResponse resp, int status, String message) throws IOException {
        resp.setStatus(status);
        resp.setContentType("text/plain;charset=utf-8");
        resp.setHeader("Cache-Control", "no-store");
        resp.setHeader("X-Content-Type-Options", "nosniff");
        resp.getWriter().write(message + "\n");
    }
}
