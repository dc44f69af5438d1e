SUMMARY = "SCEP certificate enrollment and renewal agent"
DESCRIPTION = "Obtains a device certificate from a SCEP (RFC 8894) server and renews it unattended."
LICENSE = "CLOSED"

# The agent is a static binary built outside BitBake (make static, or the board builds); SRC_URI
# points at the binary for the machine, the unit, the init script and the default configuration.
# Put them in the recipe's files/ directory, from the scep-agent tree:
#   scep-agent.${TARGET_ARCH}  <- dist/scep-agent (x86_64), dist/aarch64-linux-gnu/scep-agent (aarch64),
#                               dist/arm-linux-gnueabihf/scep-agent (arm): make static / make cross
#   scep-agent.service         <- Packaging/systemd/scep-agent.service
#   scep-agent.init            <- Packaging/sysvinit/scep-agent
#   scep-agent.conf            <- Packaging/etc/scep-agent.conf
SRC_URI = "file://scep-agent.${TARGET_ARCH} \
           file://scep-agent.service \
           file://scep-agent.init \
           file://scep-agent.conf"
S = "${WORKDIR}"

inherit systemd update-rc.d useradd

PACKAGECONFIG ??= "${@bb.utils.filter('DISTRO_FEATURES', 'systemd', d)}"

USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system scep-agent"
USERADD_PARAM:${PN} = "--system --home /var/lib/scep-agent --no-create-home --shell /bin/false -g scep-agent scep-agent"

SYSTEMD_SERVICE:${PN} = "scep-agent.service"
INITSCRIPT_NAME = "scep-agent"
INITSCRIPT_PARAMS = "defaults 95 10"

INSANE_SKIP:${PN} += "already-stripped"

do_install() {
    install -D -m 0755 ${WORKDIR}/scep-agent.${TARGET_ARCH} ${D}${sbindir}/scep-agent
    install -D -m 0644 ${WORKDIR}/scep-agent.conf ${D}${sysconfdir}/scep-agent.conf
    install -d -m 0700 ${D}${localstatedir}/lib/scep-agent
    chown scep-agent:scep-agent ${D}${localstatedir}/lib/scep-agent
    if ${@bb.utils.contains('DISTRO_FEATURES', 'systemd', 'true', 'false', d)}; then
        install -D -m 0644 ${WORKDIR}/scep-agent.service ${D}${systemd_system_unitdir}/scep-agent.service
    fi
    if ${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', 'true', 'false', d)}; then
        install -D -m 0755 ${WORKDIR}/scep-agent.init ${D}${sysconfdir}/init.d/scep-agent
    fi
}

CONFFILES:${PN} = "${sysconfdir}/scep-agent.conf"
FILES:${PN} += "${localstatedir}/lib/scep-agent"
