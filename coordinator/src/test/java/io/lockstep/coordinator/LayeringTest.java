package io.lockstep.coordinator;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * The rules docs/DESIGN.md states, checked on the compiled classes: the core is pure (it knows nothing of Netty,
 * Ratis, threads or clocks), the server reaches a group only through the seam, and no wall clock decides anything
 * anywhere in the coordinator.
 */
class LayeringTest {

    private static final JavaClasses COORDINATOR = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.lockstep.coordinator");

    @Test
    void theCoreDependsOnTheJdkItselfAndTheProtocolOnly() {
        classes().that().resideInAPackage("io.lockstep.coordinator.core..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("io.lockstep.coordinator.core..",
                        "io.lockstep.protocol..", "java.lang..", "java.util", "java.util.function", "java.util.stream", "java.io", "java.nio",
                        "java.nio.charset")
                .because("the core is a pure state machine: no Netty, Ratis, threads, locks or clocks")
                .check(COORDINATOR);
    }

    @Test
    void theCoreReadsNoClockAndStartsNoThread() {
        noClasses().that().resideInAPackage("io.lockstep.coordinator.core..")
                .should().callMethod(System.class, "currentTimeMillis")
                .orShould().callMethod(System.class, "nanoTime")
                .orShould().accessClassesThat().belongToAnyOf(Thread.class, java.time.Instant.class,
                        java.time.Clock.class)
                .because("time reaches the core as a value in each command")
                .check(COORDINATOR);
    }

    @Test
    void theServerKnowsNothingOfTheGroup() {
        noClasses().that().resideInAPackage("io.lockstep.coordinator.server..")
                .should().dependOnClassesThat().resideInAnyPackage("io.lockstep.coordinator.group..", "org.apache.ratis..")
                .because("the server reaches a group only through the seam (CommandLog down, Applier up)")
                .check(COORDINATOR);
    }

    @Test
    void noWallClockDecidesAnythingInTheCoordinator() {
        noClasses().should().callMethod(System.class, "currentTimeMillis")
                .because("every timing decision reads a monotonic clock (CommandLog.now); wall time is for display")
                .check(COORDINATOR);
    }
}
