package io.clops.executor;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EventLoopsTest {
    @Test
    void anUnknownTransportIsRefusedNamingTheSetting() {
        assertThatThrownBy(() -> EventLoops.pick("kqueue"))
                .hasMessageContaining("CLOPS_EXECUTOR_TRANSPORT").hasMessageContaining("kqueue")
                .hasMessageContaining("io_uring");
    }

    @Test
    void nioIsAlwaysHonouredAndTheDefaultIsTheBestAvailable() {
        assertThat(EventLoops.pick("nio")).isEqualTo(EventLoops.Transport.NIO);
        EventLoops.Transport best = io.netty.channel.uring.IoUring.isAvailable() ? EventLoops.Transport.IO_URING
                : io.netty.channel.epoll.Epoll.isAvailable() ? EventLoops.Transport.EPOLL : EventLoops.Transport.NIO;
        assertThat(EventLoops.pick(null)).isEqualTo(best);
        assertThat(EventLoops.pick(" ")).isEqualTo(best);
        assertThat(EventLoops.pick("IO-URING")).as("case and dash forgiven; falls back like the default").isEqualTo(best);
    }
}
