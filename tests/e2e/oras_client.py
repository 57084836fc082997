"""oras-py (the ORAS Python SDK) as a real OCI 1.1 client for tests/e2e/oras.rs.

push <registry> <repo:tag> <dir> <subject digest> <subject size>
    Pushes the artifact in dir (config.json as the config, sig.txt
    as the only layer, each with its own media type) with the given subject, over
    plain HTTP; prints the answer's OCI-Subject header.
pull <registry> <repo:tag> <outdir>
    Pulls that artifact's layers into outdir; prints the files written.
"""

import os
import sys

import oras.client
import oras.oci

CONFIG_TYPE = "application/vnd.example.oras.config+json"
LAYER_TYPE = "application/vnd.example.oras.signature"
SUBJECT_TYPE = "application/vnd.oci.image.manifest.v1+json"


def main(argv):
    command, registry, target = argv[1], argv[2], argv[3]
    client = oras.client.OrasClient(hostname=registry, insecure=True)
    if command == "push":
        # oras-py takes files relative to the working directory only.
        os.chdir(argv[4])
        subject = oras.oci.Subject(SUBJECT_TYPE, argv[5], int(argv[6]))
        response = client.push(
            target=f"{registry}/{target}",
            files=[f"sig.txt:{LAYER_TYPE}"],
            manifest_config=f"config.json:{CONFIG_TYPE}",
            manifest_annotations={"org.example.pushed-by": "oras-py"},
            subject=subject,
            quiet=True,
        )
        print(response.headers.get("OCI-Subject", ""))
    elif command == "pull":
        files = client.pull(target=f"{registry}/{target}", outdir=argv[4])
        print("\n".join(files))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv)
