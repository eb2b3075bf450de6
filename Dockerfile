# Lockstep images, built in two stages: Maven builds the jars, then each image holds a JRE and one jar.
#   docker build --target coordinator -t lockstep/coordinator .
#   docker build --target player      -t lockstep/player .
# docker-compose.yml builds both (each once). Plain Dockerfile syntax: builds with or without BuildKit.

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -q -B -DskipTests package

FROM eclipse-temurin:17-jre AS coordinator
# openssl for bin/peer-certs, which docker-compose.ha.yml runs in this image to make the group's certificates.
RUN command -v openssl >/dev/null || (apt-get update && apt-get install -y --no-install-recommends openssl \
    && rm -rf /var/lib/apt/lists/*)
COPY --from=build /src/coordinator/target/lockstep-coordinator.jar /app/lockstep-coordinator.jar
COPY bin/peer-certs /app/peer-certs
EXPOSE 7777 7778
# The parallel collector: a coordinator's heap is small, and G1's concurrent card refinement cost it a quarter to a third
# more CPU with 10,000 parties (bench/RESULTS.md).
ENTRYPOINT ["java", "-XX:+UseParallelGC", "-jar", "/app/lockstep-coordinator.jar"]

FROM eclipse-temurin:17-jre AS player
COPY --from=build /src/player/target/lockstep-player.jar /app/lockstep-player.jar
ENTRYPOINT ["java", "-jar", "/app/lockstep-player.jar"]
