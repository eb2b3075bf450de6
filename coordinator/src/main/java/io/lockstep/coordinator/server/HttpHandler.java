package io.lockstep.coordinator.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The coordinator's HTTP endpoints for operators: {@code GET /health}, {@code /livez} (the process answers),
 * {@code /readyz} (clients may be sent here: 503 with the reason otherwise), {@code GET /metrics} (Prometheus text
 * format), {@code GET /barriers} and {@code GET /barriers/{name}} (JSON). Runs on the HTTP event loop; barrier
 * snapshots are taken on the core's thread and answered when ready, so a scrape never blocks the core.
 */
final class HttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private final CoreDriver driver;
    private final Metrics metrics;

    HttpHandler(CoreDriver driver, Metrics metrics) {
        this.driver = driver;
        this.metrics = metrics;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) throws IOException {
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        String path = new QueryStringDecoder(req.uri()).path();
        if (!HttpMethod.GET.equals(req.method()) && !HttpMethod.HEAD.equals(req.method())) {
            respond(ctx, keepAlive, HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain", "only GET\n");
        } else if (path.equals("/livez")) {
            // The process serves: a liveness probe that restarted a node without a leader would prolong an election.
            respond(ctx, keepAlive, HttpResponseStatus.OK, "text/plain", "ok\n");
        } else if (path.equals("/readyz")) {
            String why = driver.notReady();
            respond(ctx, keepAlive, why == null ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                    "text/plain", why == null ? "ready\n" : "not ready: " + why + "\n");
        } else if (path.equals("/health")) {
            boolean up = driver.isServing();
            if (!up) {
                respond(ctx, keepAlive, HttpResponseStatus.SERVICE_UNAVAILABLE, "text/plain", "shutting down\n");
            } else {
                driver.role().addListener(f -> respond(ctx, keepAlive, HttpResponseStatus.OK, "text/plain",
                        f.isSuccess() ? "ok" + f.getNow() + "\n" : "ok\n"));
            }
        } else if (path.equals("/metrics")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
            PrometheusTextFormatWriter.create().write(out, metrics.registry.scrape());
            respond(ctx, keepAlive, HttpResponseStatus.OK, PrometheusTextFormatWriter.CONTENT_TYPE,
                    out.toString(StandardCharsets.UTF_8));
        } else if (path.equals("/barriers") || path.equals("/barriers/")) {
            driver.views().addListener(f -> {
                if (f.isSuccess()) {
                    @SuppressWarnings("unchecked")
                    var views = (java.util.List<io.lockstep.coordinator.core.BarrierView>) f.getNow();
                    respond(ctx, keepAlive, HttpResponseStatus.OK, "application/json", Json.barriers(views) + "\n");
                } else {
                    respond(ctx, keepAlive, HttpResponseStatus.SERVICE_UNAVAILABLE, "text/plain", "unavailable\n");
                }
            });
        } else if (path.startsWith("/barriers/")) {
            String name = QueryStringDecoder.decodeComponent(path.substring("/barriers/".length()));
            driver.view(name).addListener(f -> {
                var view = (io.lockstep.coordinator.core.BarrierView) f.getNow();
                if (view == null) {
                    respond(ctx, keepAlive, HttpResponseStatus.NOT_FOUND, "application/json",
                            "{\"error\":" + Json.string(new StringBuilder(), "no barrier named '" + name + "'") + "}\n");
                } else {
                    respond(ctx, keepAlive, HttpResponseStatus.OK, "application/json", Json.barrier(view) + "\n");
                }
            });
        } else {
            respond(ctx, keepAlive, HttpResponseStatus.NOT_FOUND, "text/plain",
                    "not found; try /health, /livez, /readyz, /metrics, /barriers, /barriers/{name}\n");
        }
    }

    private static void respond(ChannelHandlerContext ctx, boolean keepAlive, HttpResponseStatus status,
                                String contentType, String body) {
        ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        if (keepAlive) {
            res.headers().set(HttpHeaderNames.CONNECTION, "keep-alive");
            ctx.writeAndFlush(res);
        } else {
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
