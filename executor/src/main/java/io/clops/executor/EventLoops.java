package io.clops.executor;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The executor's threads: one event loop per core (CLOPS_EXECUTOR_THREADS to change), shared by the server and the
 * client towards the model. A request and its call to the model stay on one loop: no hand-off between threads, no
 * locks on the connection pool. The transport (CLOPS_EXECUTOR_TRANSPORT): {@code io_uring} (the default: a loop
 * hands the kernel all its sockets' reads and writes in one call instead of one system call each), {@code epoll},
 * or {@code nio}; one that cannot work here (an old kernel, a seccomp profile that forbids io_uring) falls back to
 * the next that can.
 */
public final class EventLoops implements AutoCloseable {
    /** How the loops talk to the kernel. */
    public enum Transport { IO_URING, EPOLL, NIO }

    private final EventLoopGroup group;
    private final Transport transport;

    /** @param wanted epoll, io_uring or nio; null or blank for the default */
    public EventLoops(int threads, String wanted) {
        this.transport = pick(wanted);
        IoHandlerFactory io = switch (transport) {
            case IO_URING -> IoUringIoHandler.newFactory();
            case EPOLL -> EpollIoHandler.newFactory();
            case NIO -> NioIoHandler.newFactory();
        };
        this.group = new MultiThreadIoEventLoopGroup(threads > 0 ? threads : Runtime.getRuntime().availableProcessors(),
                new DefaultThreadFactory("executor-io", true), io);
    }

    static Transport pick(String wanted) {
        Transport w = wanted == null || wanted.isBlank() ? Transport.IO_URING : parse(wanted);
        if (w == Transport.IO_URING && IoUring.isAvailable()) {
            return Transport.IO_URING;
        }
        if (w != Transport.NIO && Epoll.isAvailable()) {
            return Transport.EPOLL;
        }
        return Transport.NIO;
    }

    private static Transport parse(String wanted) {
        try {
            return Transport.valueOf(wanted.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("CLOPS_EXECUTOR_TRANSPORT: '" + wanted + "' is not one of epoll, io_uring, nio");
        }
    }

    public EventLoopGroup group() {
        return group;
    }

    public Class<? extends ServerChannel> serverChannel() {
        return switch (transport) {
            case IO_URING -> IoUringServerSocketChannel.class;
            case EPOLL -> EpollServerSocketChannel.class;
            case NIO -> NioServerSocketChannel.class;
        };
    }

    public Class<? extends SocketChannel> socketChannel() {
        return switch (transport) {
            case IO_URING -> IoUringSocketChannel.class;
            case EPOLL -> EpollSocketChannel.class;
            case NIO -> NioSocketChannel.class;
        };
    }

    public String transport() {
        return transport.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
