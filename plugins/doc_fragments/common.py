# -*- coding: utf-8 -*-
# Copyright: (c) 2026, swarmdata.replication contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options every module that talks to the local Docker engine shares.
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker daemon to talk to, as a URL. The module runs on a Swarm manager and uses its local engine.
    type: str
    default: unix:///var/run/docker.sock
  label_prefix:
    description:
      - Prefix of every label the collection owns. Labels outside it are never read or changed.
    type: str
    default: swarmdata
requirements:
  - Docker SDK for Python (C(docker)) >= 4.0 on the managed host (Debian package C(python3-docker)).
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Reports what would change without changing it.
  diff_mode:
    support: full
    description: Returns before/after states.
"""

    # Read-only modules: check mode changes nothing either way, and there is nothing to diff.
    INFO_ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Only reads; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
"""
