package io.clops.examples.iris;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class IrisModelTest {

    @Test
    void theDataIsFishersIris() {
        List<IrisModel.Sample> data = IrisModel.data();
        assertThat(data).hasSize(150);
        assertThat(data.stream().filter(s -> s.label() == 0)).hasSize(50);
        assertThat(data.stream().filter(s -> s.label() == 2)).hasSize(50);
    }

    @Test
    void theShippedWeightsAreWhatTheTrainerFitsAndClassifyWell() {
        IrisModel fitted = IrisTrainer.train();
        IrisModel shipped = IrisModel.shipped();
        for (IrisModel.Sample s : IrisModel.data()) {
            assertThat(shipped.probabilities(s.x())).containsExactly(fitted.probabilities(s.x()),
                    org.assertj.core.data.Offset.offset(1e-6));
        }
        assertThat(shipped.accuracy(IrisModel.data())).isGreaterThanOrEqualTo(0.95);
    }

    @Test
    void servesOipV2AndRefusesABadShapeNamingTheField() throws Exception {
        IrisServer server = new IrisServer(0, "iris", "1").start();
        try {
            HttpClient http = HttpClient.newHttpClient();
            String url = "http://127.0.0.1:" + server.port() + "/v2/models/iris/infer";
            String body = "{\"id\":\"r1\",\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[3,4],"
                    + "\"data\":[[5.1,3.5,1.4,0.2],[6.4,3.2,4.5,1.5],[6.3,3.3,6.0,2.5]]}]}";
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            @SuppressWarnings("unchecked") Map<String, Object> out = (Map<String, Object>) Json.parse(r.body());
            assertThat(out.get("id")).isEqualTo("r1");
            @SuppressWarnings("unchecked") List<Map<String, Object>> outputs = (List<Map<String, Object>>) out.get("outputs");
            assertThat(outputs.get(0).get("data")).isEqualTo(List.of("setosa", "versicolor", "virginica"));

            HttpResponse<String> bad = http.send(HttpRequest.newBuilder(URI.create(url))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,2,3]}]}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(bad.statusCode()).isEqualTo(400);
            assertThat(bad.body()).contains("inputs[0].shape");
        } finally {
            server.stop();
        }
    }
}
