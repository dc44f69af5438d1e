################################################################################
#
# scep-agent: installs the prebuilt static binary for the target, the default
# configuration, and an init script or systemd unit as the image uses. The
# files/ directory of the external tree holds, from the scep-agent tree:
#   scep-agent.$(BR2_ARCH)  dist/scep-agent (x86_64), dist/aarch64-linux-gnu/scep-agent (aarch64),
#                           dist/arm-linux-gnueabihf/scep-agent (arm): make static / make cross
#   scep-agent.conf         Packaging/etc/scep-agent.conf
#   scep-agent.init         Packaging/sysvinit/scep-agent
#   scep-agent.service      Packaging/systemd/scep-agent.service
#
################################################################################

SCEP_AGENT_VERSION = 0.1.0
SCEP_AGENT_SITE = $(BR2_EXTERNAL_SCEP_AGENT_PATH)/files
SCEP_AGENT_SITE_METHOD = local
SCEP_AGENT_LICENSE = proprietary

define SCEP_AGENT_USERS
	scep-agent -1 scep-agent -1 * /var/lib/scep-agent - - scep-agent daemon
endef

define SCEP_AGENT_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/scep-agent.$(BR2_ARCH) $(TARGET_DIR)/usr/sbin/scep-agent
	$(INSTALL) -D -m 0644 $(@D)/scep-agent.conf $(TARGET_DIR)/etc/scep-agent.conf
	$(INSTALL) -d -m 0700 $(TARGET_DIR)/var/lib/scep-agent
endef

define SCEP_AGENT_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(@D)/scep-agent.init $(TARGET_DIR)/etc/init.d/S95scep-agent
endef

define SCEP_AGENT_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/scep-agent.service $(TARGET_DIR)/usr/lib/systemd/system/scep-agent.service
endef

$(eval $(generic-package))
