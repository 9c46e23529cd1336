"""Docker Hub's Official Images: the only one-word names that mean a real public image.

A manifest that says `image: adservice` names `docker.io/library/adservice`,
which does not exist: such bare names are placeholders a build tool (skaffold,
tilt, ko) replaces before deploying. pullguard reports them as not references
rather than judging them as public images. The list is the `library/` namespace
of Docker Hub, current and deprecated repositories alike (an old manifest can
still pull a deprecated one).
"""

from __future__ import annotations

DOCKER_OFFICIAL_IMAGES = frozenset(
    ["adminer", "aerospike", "almalinux", "alpine", "alt", "amazoncorretto", "amazonlinux", "api-firewall", "arangodb", "archlinux", "backdrop", "bash", "bonita", "buildpack-deps", "busybox", "caddy", "cassandra", "celery", "centos", "chronograf", "cirros", "clearlinux", "clefos", "clickhouse", "clojure", "composer", "consul", "convertigo", "couchbase", "couchdb", "crate", "crux", "dart", "debian", "django", "docker", "drupal", "eclipse-mosquitto", "eclipse-temurin", "eggdrop", "elasticsearch", "elixir", "emqx", "erlang", "euleros", "express-gateway", "fedora", "flink", "fluentd", "friendica", "gazebo", "gcc", "geonetwork", "ghost", "glassfish", "golang", "gradle", "groovy", "haproxy", "haskell", "haxe", "hello-world", "hitch", "httpd", "hylang", "ibm-semeru-runtimes", "ibmjava", "influxdb", "iojs", "irssi", "java", "jenkins", "jetty", "jobber", "joomla", "jruby", "julia", "kaazing-gateway", "kapacitor", "kibana", "known", "kong", "krakend", "lightstreamer", "liquibase", "logstash", "mageia", "mariadb", "matomo", "maven", "mediawiki", "memcached", "mongo", "mongo-express", "monica", "mono", "mysql", "nats", "nats-streaming", "neo4j", "neurodebian", "nextcloud", "nginx", "node", "notary", "nuxeo", "odoo", "open-liberty", "openjdk", "opensuse", "oraclelinux", "orientdb", "owncloud", "percona", "perl", "photon", "php", "php-zendserver", "phpmyadmin", "piwik", "plone", "postfixadmin", "postgres", "pypy", "python", "r-base", "rabbitmq", "rails", "rakudo-star", "rapidoid", "redis", "redmine", "registry", "rethinkdb", "rocket.chat", "rockylinux", "ros", "ruby", "rust", "sapmachine", "satosa", "scratch", "sentry", "silverpeas", "sl", "solr", "sonarqube", "sourcemage", "spark", "spiped", "storm", "swarm", "swift", "swipl", "teamspeak", "telegraf", "thrift", "tomcat", "tomee", "traefik", "ubuntu", "ubuntu-debootstrap", "ubuntu-upstart", "unit", "varnish", "vault", "websphere-liberty", "wordpress", "xwiki", "yourls", "znc", "zookeeper"]
)


def bare_placeholder(image: str, path: str) -> bool:
    """True for a one-word image name (no registry, no namespace) that is no Official Image."""
    name = image.split("@", 1)[0].rsplit(":", 1)[0] if "/" not in image else None
    return name is not None and path == f"library/{name}" and name not in DOCKER_OFFICIAL_IMAGES
