# cnnviz on a CPU-only image; mirrors `make run` step for step.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# CPU-only torch first (the default wheel would pull several GB of CUDA), then the rest, pinned.
COPY requirements.txt .
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install -r requirements.txt

RUN useradd --create-home --uid 1000 cnnviz && mkdir -p /data /runs && chown cnnviz /data /runs
COPY --chown=cnnviz:cnnviz . .
USER cnnviz
# Dataset folders (MNIST/CIFAR files) are read only under /data; finished training runs go to
# /runs: mount both (`-v $PWD/runs:/runs`) so a new container keeps the class's models.
ENV CNNVIZ_DATA_ROOT=/data CNNVIZ_RUNS=/runs
VOLUME ["/runs"]
# The Explore page's built-in nets, trained into the image (~/.cache/cnnviz of user cnnviz).
RUN python -m cnnviz pretrain

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read().strip() != b'ok')"

# Same server settings as `make run` (.streamlit/config.toml), reachable from outside the container.
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0"]
