#!/usr/bin/env bash
# The extraction job alone on Google Cloud Dataflow: the same Beam code, standard pipeline options.
# The workers run the `dataflow` target of infra/container/Dockerfile (Beam boot entrypoint) so the backbone weights
# that ship inside registry packages are there; nothing is downloaded at run time.
set -euo pipefail
: "${PROJECT:?set PROJECT}" "${REGION:?set REGION}" "${CATALOG:?gs://... catalog}" "${OUT:?gs://... output prefix}"
IMAGE=${IMAGE:-europe-docker.pkg.dev/$PROJECT/images/emsync-dataflow:0.1.0}
exec emsync extract "$CATALOG" --out "$OUT" -- \
  --runner=DataflowRunner --project="$PROJECT" --region="$REGION" \
  --temp_location="$OUT/_beam_tmp" --sdk_container_image="$IMAGE" \
  --service_account_email="${SERVICE_ACCOUNT:-emsync-runner@$PROJECT.iam.gserviceaccount.com}" --experiments=use_runner_v2 --max_num_workers="${MAX_WORKERS:-32}" --machine_type="${MACHINE:-n2-standard-4}"
